"""Per-user risk across detectors and days, and the alert budget that keeps alerts readable.

A reviewer reads people, not findings. Each user's findings in a run are combined into one **risk**,
in the same units as a finding's strength (-log10 of a chance probability, `evidence.py`):

    risk = strongest detector's strength
         + CORROBORATION × (each other detector's strength, capped at the high cut-off, if ≥ 2)
         + REPEAT × (days with findings − 1, at most REPEAT_DAYS)

so two weak signals from different detectors, or the same signal on several days, add up to an
alert, while one weak signal stays low (kept in the register and the DPO pack, not alerted). A finding a
detector kept below medium as expected work (`expected_work` in its evidence: an entitled reader's burst, a
day the peer group shared) corroborates nothing and counts no day: it is its own strength at most. The
user's strongest finding carries the user's severity; every user finding carries `user_risk`.

**Alert budget.** At most `budget` (config `alert_budget`, default 2%) of the users active in the
window (and never fewer than MIN_ALLOWED, 5) are alerted at medium or above. Users whose evidence is
conclusive — a policy finding (an account used after its holder left, an unexplained look-up of one's
own family) or a risk of at least CONCLUSIVE (4.5) — take their places first and are never held back,
so a window with more real misuse than the budget still shows it all; users on *moderate* evidence fill
the places left, the riskiest first, and the rest are held at low (`held_by_budget` in their evidence;
nothing is dropped). The run reports how many users were over the budget and why (`BudgetReport`).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from audit_kit.detectors.evidence import CUTOFFS, MAX_STRENGTH, Cutoffs, score_of, severity_of
from audit_kit.models.findings import Finding, Severity

CORROBORATION = 0.5
# Risk at which evidence is conclusive: chance gives it less than once in 30,000; never held back.
CONCLUSIVE = 4.5
MIN_CORROBORATING = 2.0
REPEAT = 0.5
REPEAT_DAYS = 3
# The fewest moderate alerts a run may raise under a non-zero budget (2% of 30 users rounds to 0).
MIN_ALLOWED = 5
# Strength assumed for a finding that carries none (a detector outside this package).
_BY_SEVERITY = {Severity.INFO: 0.0, Severity.LOW: 2.0, Severity.MEDIUM: 5.0, Severity.HIGH: 8.0,
                Severity.CRITICAL: MAX_STRENGTH}


@dataclass
class UserRisk:
    """One user's combined evidence in a run."""

    user_id: str
    org_id: str | None
    risk: float
    severity: Severity
    detectors: list[str]
    days: int
    policy: bool = False
    held: bool = False

    @property
    def conclusive(self) -> bool:
        return self.policy or self.risk >= CONCLUSIVE


@dataclass
class BudgetReport:
    """What the alert budget did in a run."""

    budget: float
    active_users: int
    allowed: int
    alerted: int = 0
    held: int = 0
    over_budget_conclusive: int = 0
    held_users: list[str] = field(default_factory=list)
    # Users alerted earlier in the window (by an earlier scan) and not alerted now: their places stay taken.
    earlier: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"budget": self.budget, "active_users": self.active_users, "allowed": self.allowed,
                "alerted_users": self.alerted, "held_users": self.held,
                "over_budget_on_conclusive_evidence": self.over_budget_conclusive,
                "places_taken_by_earlier_alerts": self.earlier}

    def summary(self) -> str:
        text = (f"alert budget {self.budget:.1%} of {self.active_users} active users = {self.allowed}: "
                f"{self.alerted} user(s) alerted")
        if self.held:
            text += f", {self.held} more held at low"
        if self.over_budget_conclusive:
            text += f", {self.over_budget_conclusive} over the budget on conclusive evidence"
        if self.earlier:
            text += f", {self.earlier} place(s) taken by users alerted earlier in the window"
        return text


def finding_strength(f: Finding) -> float:
    """A finding's strength (evidence `strength`, else a value for its severity)."""
    s = f.evidence.get("strength") if isinstance(f.evidence, dict) else None
    if isinstance(s, (int, float)) and not (isinstance(s, float) and math.isnan(s)):
        return float(s)
    return _BY_SEVERITY.get(f.severity, 0.0)


def _is_policy(f: Finding) -> bool:
    return bool(isinstance(f.evidence, dict) and f.evidence.get("policy"))


def _expected(f: Finding) -> bool:
    # A detector kept it below medium as expected work (an entitled reader's burst, a day the peer group
    # shared): two detectors measuring that same burst must not add up to the alert each declined to raise.
    return bool(isinstance(f.evidence, dict) and f.evidence.get("expected_work"))


def _strongest_by_detector(fs: list[Finding]) -> dict[str, float]:
    out: dict[str, float] = {}
    for f in fs:
        out[f.detector] = max(out.get(f.detector, 0.0), finding_strength(f))
    return out


def user_risks(findings: list[Finding], cutoffs: Cutoffs = CUTOFFS) -> dict[str, UserRisk]:
    """Each user's risk from their findings (see the module doc)."""
    by_user: dict[str, list[Finding]] = {}
    for f in findings:
        if f.user_id:
            by_user.setdefault(f.user_id, []).append(f)
    out: dict[str, UserRisk] = {}
    for user, fs in by_user.items():
        per_det = _strongest_by_detector(fs)
        counted = [f for f in fs if not _expected(f)]
        risk = max((finding_strength(f) for f in fs if _expected(f)), default=0.0)
        days: set[object] = set()
        if counted:
            ranked = sorted(_strongest_by_detector(counted).values(), reverse=True)
            combined = ranked[0] + CORROBORATION * sum(min(s, cutoffs.high) for s in ranked[1:]
                                                       if s >= MIN_CORROBORATING)
            days = {f.first_seen.date() for f in counted
                    if f.first_seen is not None and finding_strength(f) >= MIN_CORROBORATING}
            risk = max(risk, combined + REPEAT * min(max(len(days) - 1, 0), REPEAT_DAYS))
        policy = [f for f in fs if _is_policy(f)]
        sev = severity_of(risk, cutoffs)
        for f in policy:
            sev = max(sev, f.severity)
        top = max(fs, key=lambda f: (finding_strength(f), f.severity.rank))
        out[user] = UserRisk(user, top.org_id, round(min(risk, MAX_STRENGTH * 2), 3), sev,
                             sorted(per_det, key=lambda d: -per_det[d]), len(days), bool(policy))
    return out


def apply_risk_and_budget(
    findings: list[Finding], active_users: int, budget: float, cutoffs: Cutoffs = CUTOFFS,
    alerted_before: Collection[str] = (),
) -> tuple[list[UserRisk], BudgetReport]:
    """Set user findings' severities from per-user risk and the alert budget, in place.

    Each user's strongest finding takes the user's severity (a corroborated or repeated weak signal
    becomes an alert); the others keep their own. Then users at medium or above beyond the budget,
    least risky first, are held at low unless their evidence is conclusive. `alerted_before`: users
    already alerted at medium or above within the window (by the earlier scans of a scheduled job, each
    judging a day in the window's context): they keep their places, first among the moderate, and those
    not alerted now still take theirs — so a fortnight of daily scans alerts about as many users as one
    detection of the fortnight, not a budget's worth a day. Returns every user's risk and what the budget did.
    """
    risks = user_risks(findings, cutoffs)
    by_user: dict[str, list[Finding]] = {}
    for f in findings:
        if f.user_id:
            by_user.setdefault(f.user_id, []).append(f)
    for user, fs in by_user.items():
        r = risks[user]
        # the alert is carried by the strongest finding that counts (never one kept low as expected work)
        top = max(fs, key=lambda f: (not _expected(f), finding_strength(f), f.severity.rank))
        for f in fs:
            f.evidence["user_risk"] = r.risk
        if r.severity > top.severity:
            top.evidence["raised_by_user_risk"] = {"from": top.severity.value, "detectors": r.detectors,
                                                   "days": r.days}
            top.severity = r.severity
            top.score = max(top.score, score_of(r.risk))
    allowed = int(math.floor(max(budget, 0.0) * max(active_users, 0) + 1e-9))
    if budget > 0:
        allowed = max(allowed, MIN_ALLOWED)  # a small population still gets a few alerts
    report = BudgetReport(budget=budget, active_users=active_users, allowed=allowed)
    alerted = sorted((r for r in risks.values() if r.severity >= Severity.MEDIUM),
                     key=lambda r: (not r.conclusive, -r.risk, r.user_id))
    conclusive = [r for r in alerted if r.conclusive]
    before = set(alerted_before)
    earlier = len(before - {r.user_id for r in alerted})
    report.earlier = earlier
    slots = max(allowed - len(conclusive) - earlier, 0)
    moderate = sorted((r for r in alerted if not r.conclusive), key=lambda r: r.user_id not in before)  # stable
    for r in moderate[slots:]:
        r.held = True
        for f in by_user[r.user_id]:
            if f.severity >= Severity.MEDIUM:
                f.evidence["held_by_budget"] = {"from": f.severity.value, "user_risk": r.risk}
                f.severity = Severity.LOW
    report.held_users = [r.user_id for r in moderate[slots:]]
    report.held = len(report.held_users)
    report.alerted = len(alerted) - report.held
    report.over_budget_conclusive = max(len(conclusive) - allowed, 0)
    return list(risks.values()), report


__all__ = ["CONCLUSIVE", "BudgetReport", "UserRisk", "apply_risk_and_budget", "finding_strength", "user_risks"]
