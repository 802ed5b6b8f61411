"""The action plan: what a body must do, how soon, and who should own it — urgency from severity.

Built from a body's register (`register.build_register`) and the findings behind it:

- critical findings (access or a contradicted answer) → *contain and investigate*, priority urgent,
  due within `risk.SEVERITY_URGENCY[critical]` days (7) of the report's issue date;
- high findings → *investigate*, priority high, within 30 days;
- the theme's control gaps, contradicted answers and medium findings → *remediate*, with the date the
  theme's risk level gives (`risk.GAP_URGENCY`: Very High 30 days … Low a year);
- no questionnaire → *assure*: return it, by the same rule.

Every finding behind a register entry is covered by exactly one action, the one its severity asks
for, and a control's remediation appears once (in the most serious theme that lists it). Findings
that may be a personal-data breach (a leaver's account used, a shielded child's record opened, bulk
extraction, snooping on family or public figures) carry a breach-assessment prompt: the body must
decide within 72 hours of becoming aware whether to report it to the ICO (UK GDPR Art. 33).
"""

from __future__ import annotations

from collections.abc import Sequence

from audit_kit.assessment import risk
from audit_kit.assessment.register import NO_ASSURANCE, THEME_BY_KEY, OrgInputs, Theme
from audit_kit.detectors.registry import REGISTRY
from audit_kit.models.actions import ActionKind, OwnerRole, Recommendation
from audit_kit.models.assessment import RiskEntry
from audit_kit.models.findings import Finding, Severity

# Detectors whose findings may be a personal-data breach on their own.
BREACH_DETECTORS = frozenset({
    "leaver_account", "dormant_account", "shielded_access", "bulk_access", "export_spike", "family_lookup",
    "vip_snooping", "no_relationship", "search_fishing",
})

CONTAIN_STEPS = (
    "Suspend or restrict the account(s) concerned until each access is explained.",
    "Establish, with the user's line manager, whether each access listed had a legitimate reason; record "
    "the outcome.",
    "Report the outcome of each finding to the database holder, quoting its reference.",
)
INVESTIGATE_STEPS = (
    "Establish whether each access listed had a legitimate reason, and record the outcome.",
    "Report the outcome of each finding to the database holder, quoting its reference.",
)
BREACH_STEP = (
    "Assess whether this is a personal-data breach. If it is likely to result in a risk to the children "
    "concerned, report it to the ICO within 72 hours of becoming aware of it (UK GDPR Art. 33); record the "
    "decision and its reasons either way."
)
CRITICAL_CONTRADICTION_STEP = (
    "Bring the control into effect now (the logs show it is not in place), then correct the "
    "questionnaire answer with evidence."
)


def build_actions(org: OrgInputs, entries: Sequence[RiskEntry]) -> list[Recommendation]:
    """The body's action plan, most urgent first (then by due date and id)."""
    by_id = {f.finding_id: f for f in (*org.findings, *org.contradiction_findings)}
    covered_findings: set[str] = set()
    covered_controls: set[str] = set()
    out: list[Recommendation] = []
    for entry in entries:  # most serious first: a shared control is remediated under the worst theme
        theme = THEME_BY_KEY.get(entry.theme, NO_ASSURANCE)
        findings = [by_id[i] for i in entry.findings if i in by_id and i not in covered_findings]
        covered_findings.update(f.finding_id for f in findings)
        for severity, kind in ((Severity.CRITICAL, ActionKind.CONTAIN), (Severity.HIGH, ActionKind.INVESTIGATE)):
            group = [f for f in findings if f.severity is severity]
            if group:
                out.append(_finding_action(org.org_id, theme, entry, kind, severity, group))
        rest = [f for f in findings if f.severity < Severity.HIGH]
        gaps = [c for c in entry.controls if c not in covered_controls]
        covered_controls.update(gaps)
        handled = {str(f.evidence.get("control_id")) for f in findings
                   if f.detector == "contradiction" and f.severity >= Severity.HIGH}
        steps = [a for a in entry.treatment_actions
                 if not a.startswith(("Investigate the ", "Restrict the body's access"))
                 and not _control_done(a, entry.controls, gaps)
                 and not (a.split(":", 1)[0] in handled and "correct the questionnaire answer" in a)]
        if rest:
            steps.append(f"Review the {len(rest)} medium finding(s) listed and record the outcome of each.")
        if not steps:
            continue
        priority, days = risk.GAP_URGENCY[entry.risk_level]
        kind = ActionKind.ASSURE if entry.theme == NO_ASSURANCE.key else ActionKind.REMEDIATE
        title = ("Give the database holder assurance of your security" if kind is ActionKind.ASSURE
                 else f"Close the control gaps behind: {theme.title.lower()}" if gaps
                 else f"Review the medium findings behind: {theme.title.lower()}")
        owner = OwnerRole.SIRO if kind is ActionKind.ASSURE else theme.owner_role
        out.append(Recommendation(
            action_id=f"{org.org_id}/{entry.theme}/{kind.value}", org_id=org.org_id, priority=priority, kind=kind,
            due_days=days, title=title, steps=steps, findings=[f.finding_id for f in rest],
            worst_severity=_worst(rest), risk_id=entry.risk_id, risk_title=entry.title, owner_role=owner,
            breach_prompt=False,
        ))
    out.sort(key=lambda a: (-a.priority.rank, a.due_days, a.action_id))
    return out


def _finding_action(org_id: str, theme: Theme, entry: RiskEntry, kind: ActionKind, severity: Severity,
                    group: list[Finding]) -> Recommendation:
    priority, days = risk.SEVERITY_URGENCY[severity]
    access = [f for f in group if f.detector != "contradiction"]
    contradicted = [f for f in group if f.detector == "contradiction"]
    breach = any(f.detector in BREACH_DETECTORS for f in access)
    steps: list[str] = []
    if contradicted:
        controls = ", ".join(sorted({str(f.evidence.get("control_id", "")) for f in contradicted}))
        steps.append(f"{controls}: {CRITICAL_CONTRADICTION_STEP}" if severity is Severity.CRITICAL
                     else f"{controls}: correct the questionnaire answer and show evidence that matches the logs.")
    if access:
        steps.extend(CONTAIN_STEPS if kind is ActionKind.CONTAIN else INVESTIGATE_STEPS)
    if breach:
        steps.append(BREACH_STEP)
    what = _what(access, contradicted)
    verb = "Contain and investigate" if kind is ActionKind.CONTAIN else "Investigate"
    if not access:
        verb = "Put right now" if kind is ActionKind.CONTAIN else "Put right"
    owner = OwnerRole.DPO if breach else theme.owner_role
    return Recommendation(
        action_id=f"{org_id}/{entry.theme}/{kind.value}", org_id=org_id, priority=priority, kind=kind,
        due_days=days, title=f"{verb} the {len(group)} {severity.value} finding{'s' if len(group) > 1 else ''}: {what}",
        steps=steps, findings=[f.finding_id for f in group], worst_severity=severity.value,
        risk_id=entry.risk_id, risk_title=entry.title, owner_role=owner, breach_prompt=breach,
    )


def _what(access: list[Finding], contradicted: list[Finding]) -> str:
    parts: dict[str, int] = {}
    for f in access:
        spec = REGISTRY.get(f.detector)
        label = spec.title.lower() if spec else f.detector.replace("_", " ")
        parts[label] = parts.get(label, 0) + 1
    if contradicted:
        parts["contradicted answer"] = len(contradicted)
    return ", ".join(f"{k} ({v})" if v > 1 else k for k, v in sorted(parts.items()))


def _control_done(action: str, controls: Sequence[str], still_open: Sequence[str]) -> bool:
    """Whether a treatment action is a control remediation already given under a more serious theme."""
    head = action.split(":", 1)[0]
    return head in controls and head not in still_open


def _worst(findings: Sequence[Finding]) -> str | None:
    return max(findings, key=lambda f: f.severity.rank).severity.value if findings else None
