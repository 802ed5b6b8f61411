"""The risk register: an organisation's gaps, contradictions and findings grouped into risk statements.

Each theme is one way children's records could be misused or exposed; a theme enters the register
when the organisation has a control gap, a contradicted answer or an access finding behind it.
Treatment actions come from the controls' own `remediation` text (the catalogue), so a register
entry tells the body what to do, not just what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from audit_kit.assessment import risk
from audit_kit.models.actions import OwnerRole
from audit_kit.models.assessment import ControlCheck, Factor, Reach, RiskEntry, RiskLevel, Treatment
from audit_kit.models.findings import Finding, Severity


@dataclass(frozen=True)
class Theme:
    """One risk theme: the statement it makes and the controls and detectors behind it."""

    key: str
    title: str
    threat: str  # "There is a risk that …"
    harm: str  # "… resulting in …"
    controls: tuple[str, ...]
    detectors: tuple[str, ...]
    owner_role: OwnerRole = OwnerRole.DPO


THEMES: tuple[Theme, ...] = (
    Theme(
        "credential_misuse", "Accounts used by someone other than their owner",
        "accounts are used by people other than the named member of staff (shared, leavers', dormant or "
        "single-factor accounts)",
        "children's records read by people the body cannot identify or hold to account",
        ("IAM-01", "IAM-02", "IAM-04", "IAM-05", "IAM-07", "PPL-05", "PPL-06", "DEV-01", "DEV-04", "DEV-05",
         "GOV-05", "GOV-06"),
        ("concurrent_sessions", "weak_auth", "leaver_account", "dormant_account", "failed_login_burst"),
        OwnerRole.IT_LEAD,
    ),
    Theme(
        "snooping", "Staff reading records without a legitimate need",
        "staff look up children they have no case with (their own family, neighbours, children in the news)",
        "a breach of the children's and families' privacy, and loss of trust in the database",
        ("NTK-01", "NTK-02", "NTK-04", "NTK-06", "IAM-03", "IAM-06", "PPL-01", "PPL-02", "PPL-03", "PPL-04",
         "GOV-03"),
        ("no_relationship", "out_of_area", "family_lookup", "vip_snooping", "search_fishing", "lingering_access",
         "peer_outlier", "after_hours", "volume_spike"),
        OwnerRole.IAO,
    ),
    Theme(
        "shielded_exposure", "Exposure of shielded children",
        "the location or details of a shielded child are disclosed to someone who should not have them",
        "serious harm to a child who is shielded for their safety",
        ("NTK-03",),
        ("shielded_access",),
    ),
    Theme(
        "bulk_extraction", "Bulk extraction or export of records",
        "records are extracted in bulk (exports, prints, large searches) and leave the body's control",
        "a large-scale breach affecting many children at once",
        ("NTK-05", "IAM-07", "DEV-06"),
        ("bulk_access", "export_spike"),
        OwnerRole.IAO,
    ),
    Theme(
        "undetected_misuse", "Misuse not detected or reported",
        "misuse goes unnoticed or unreported because logs are incomplete, not reviewed or alerts not acted on",
        "harm that continues and cannot be investigated afterwards",
        ("MON-01", "MON-02", "MON-03", "MON-04", "INC-01", "INC-02", "GOV-01", "GOV-02", "GOV-04", "ASR-01",
         "ASR-02", "ASR-03"),
        ("log_gap", "denied_spike"),
        OwnerRole.SIRO,
    ),
    Theme(
        "other_access", "Other risky access",
        "records are accessed in ways the other themes do not cover",
        "children's records read or changed without a legitimate reason",
        (), (),  # findings of any detector no other theme lists
        OwnerRole.DPO,
    ),
)
THEME_BY_KEY = {t.key: t for t in THEMES}
NO_ASSURANCE = Theme(
    "no_assurance", "No security assurance from the body",
    "weaknesses in the body's security go unseen because it returned no questionnaire",
    "risks to children that neither the body nor the database holder can manage",
    (), (),
    OwnerRole.SIRO,
)


@dataclass
class ControlGap:
    """A control scored below full credit, with its weight and remediation (from scoring + catalogue)."""

    control_id: str
    credit: float  # 0–1 achieved (contradicted answers count 0)
    weight: float
    remediation: str = ""
    contradicted: bool = False


@dataclass
class OrgInputs:
    """What the register of one organisation is built from."""

    org_id: str
    name: str
    impact: int
    reach: Reach
    users: int
    questionnaire_received: bool
    gaps: dict[str, ControlGap] = field(default_factory=dict)  # control id -> gap (credit < 1)
    weights: dict[str, float] = field(default_factory=dict)  # control id -> weight, all scored controls
    contradictions: list[ControlCheck] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # access findings of this org
    owner: str | None = None
    # The `contradiction` findings raised for this org's answers: their severity drives urgency.
    contradiction_findings: list[Finding] = field(default_factory=list)
    must_pass_failed: list[str] = field(default_factory=list)  # control ids


def theme_of_detector(detector: str) -> Theme:
    """The theme an access finding of `detector` belongs to (unknown detectors: other risky access)."""
    for theme in THEMES:
        if detector in theme.detectors:
            return theme
    return THEME_BY_KEY["other_access"]


def build_register(org: OrgInputs, as_of: date) -> list[RiskEntry]:
    """The register entries of one organisation, most serious first.

    Each entry's likelihood comes from its own theme's gaps, contradictions and findings, with floors:
    a critical finding (access or contradicted answer) behind it, or a failed must-pass control in it.
    The body is rated at its worst entry (`rate_from_register`).
    """
    entries: list[RiskEntry] = []
    contradicted = {c.control_id: c for c in org.contradictions}
    contra_sev = {str(f.evidence.get("control_id")): f.severity for f in org.contradiction_findings}
    owner = org.owner or f"Data Protection Officer, {org.name}"
    themes: Sequence[Theme] = THEMES if org.questionnaire_received else (NO_ASSURANCE, *THEMES)
    serious = [f for f in org.findings if f.severity >= Severity.MEDIUM]
    for theme in themes:
        theme_gaps = [org.gaps[c] for c in theme.controls if c in org.gaps]
        theme_contra = [contradicted[c] for c in theme.controls if c in contradicted]
        theme_findings = [f for f in serious if theme_of_detector(f.detector).key == theme.key]
        if theme.key == "no_assurance":
            pass  # always listed for a body with no questionnaire
        elif not (theme_gaps or theme_contra or theme_findings):
            continue
        weight_total = sum(org.weights.get(c, 0.0) for c in theme.controls)
        gap_weight = sum(g.weight * (1 - g.credit) for g in theme_gaps)
        weighted_gap = (gap_weight / weight_total) if weight_total else (None if theme.key == "no_assurance" else 0.0)
        rate = 1000 * len(theme_findings) / max(org.users, 1)
        severities = [f.severity for f in theme_findings] + [
            contra_sev.get(c.control_id, Severity.MEDIUM) for c in theme_contra]
        critical = sum(1 for s in severities if s is Severity.CRITICAL)
        must_pass = sum(1 for c in theme.controls if c in org.must_pass_failed)
        inputs = risk.LikelihoodInputs(
            weighted_gap=weighted_gap, contradictions=len(theme_contra), findings_per_1000_users=rate,
            critical_findings=critical, must_pass_failed=must_pass, logs_only=not org.questionnaire_received,
        )
        likelihood, l_factors = risk.likelihood(inputs)
        impact = org.impact
        _, i_factors = risk.impact(org.reach)
        if theme.key == "shielded_exposure" and org.reach.shielded_children == 0:
            impact = max(1, impact - 1)
            i_factors = [*i_factors, Factor(name="no shielded child reachable", value=-1,
                                            note="impact one level lower for this theme")]
        level = risk.risk_level(likelihood, impact)
        # Residual: the theme's gaps closed and contradictions resolved; findings fall to a low rate
        # once investigated. Impact is what the body can reach, which controls do not change.
        residual_l, _ = risk.likelihood(risk.LikelihoodInputs(
            weighted_gap=0.0, contradictions=0, findings_per_1000_users=min(rate, risk.FINDING_RATE_BANDS[0]),
            logs_only=False,
        ))
        residual_l = min(residual_l, likelihood)
        residual = risk.risk_level(residual_l, impact)
        actions = _actions(theme, theme_gaps, theme_contra, theme_findings)
        if level is RiskLevel.VERY_HIGH and (theme_contra or critical):
            treatment = Treatment.AVOID
            actions.insert(0, "Restrict the body's access to the records concerned until the actions below are "
                              "evidenced.")
        else:
            treatment = Treatment.REDUCE
        tier = risk.tier(level)
        because = _because(theme_gaps, theme_contra, theme_findings, theme.key == "no_assurance")
        finding_ids = [c.finding_id for c in theme_contra if c.finding_id] + [f.finding_id for f in theme_findings]
        sev_counts: dict[Severity, int] = {}
        for sev in severities:
            sev_counts[sev] = sev_counts.get(sev, 0) + 1
        # Urgency from severity: the entry's first action is due as its worst finding asks, else by level.
        due_days = min([risk.SEVERITY_URGENCY[s][1] for s in sev_counts if s in risk.SEVERITY_URGENCY]
                       + [risk.GAP_URGENCY[level][1]])
        entries.append(RiskEntry(
            risk_id=f"{org.org_id}/{theme.key}",
            theme=theme.key,
            title=theme.title,
            statement=f"There is a risk that {theme.threat}, because {because}, resulting in {theme.harm}.",
            controls=sorted({g.control_id for g in theme_gaps} | {c.control_id for c in theme_contra}),
            findings=finding_ids,
            likelihood=likelihood, impact=impact, risk_level=level, treatment=treatment,
            treatment_actions=actions, owner=owner, target_date=as_of + timedelta(days=risk.TIER_DAYS[tier]),
            residual_likelihood=residual_l, residual_impact=impact, residual_risk_level=residual,
            owner_role=theme.owner_role.value, likelihood_factors=l_factors, impact_factors=i_factors,
            finding_severity=sev_counts, due_days=due_days,
        ))
    entries.sort(key=lambda e: (-e.risk_level.rank, -e.likelihood * e.impact, e.risk_id))
    return entries


def rate_from_register(entries: Sequence[RiskEntry], impact: int) -> tuple[int, int, RiskLevel]:
    """The body's (likelihood, impact, level): those of its worst register entry.

    A body with nothing registered (no gap, contradiction or finding) is rated at likelihood 1.
    """
    if not entries:
        return 1, impact, risk.risk_level(1, impact)
    worst = min(entries, key=lambda e: (-e.risk_level.rank, -e.likelihood * e.impact, e.risk_id))
    return worst.likelihood, worst.impact, worst.risk_level


def _because(gaps: list[ControlGap], contra: list[ControlCheck], findings: list[Finding], none: bool) -> str:
    if none:
        return "the body returned no security questionnaire"
    parts = []
    if contra:
        parts.append(f"the logs contradict its answer{'s' if len(contra) > 1 else ''} on "
                     + ", ".join(c.control_id for c in contra))
    open_gaps = [g.control_id for g in gaps if not g.contradicted]
    if open_gaps:
        parts.append("controls " + ", ".join(open_gaps[:6]) + (" and more" if len(open_gaps) > 6 else "")
                     + " are not fully in place")
    if findings:
        by: dict[str, int] = {}
        for f in findings:
            by[f.detector] = by.get(f.detector, 0) + 1
        parts.append(f"{len(findings)} access finding(s) were raised ("
                     + ", ".join(f"{k} {v}" for k, v in sorted(by.items())) + ")")
    return "; ".join(parts)


def _actions(theme: Theme, gaps: list[ControlGap], contra: list[ControlCheck], findings: list[Finding]) -> list[str]:
    actions: list[str] = []
    seen: set[str] = set()
    for g in sorted(gaps, key=lambda g: (-g.weight * (1 - g.credit), g.control_id)):
        if g.remediation and g.remediation not in seen:
            seen.add(g.remediation)
            actions.append(f"{g.control_id}: {g.remediation}")
    for c in contra:
        actions.append(f"{c.control_id}: correct the questionnaire answer and show evidence that matches the logs.")
    if findings:
        actions.append(f"Investigate the {len(findings)} access finding(s) listed and report outcomes to the "
                       "database holder.")
    if theme.key == "no_assurance":
        actions.append("Return the security questionnaire with evidence.")
    return actions


def owner_from_respondent(respondent: Mapping[str, str] | None, org_name: str) -> str | None:
    """'Jane Doe (Data Protection Officer), ORG' from a questionnaire respondent, if one is named."""
    if not respondent:
        return None
    name, role = respondent.get("name"), respondent.get("role")
    if not name and not role:
        return None
    who = f"{name} ({role})" if name and role else (name or role)
    return f"{who}, {org_name}"
