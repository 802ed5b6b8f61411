"""`assess_workspace`: corroborate, score, rate and register every organisation, then store it dated.

The order matters: the logs are measured first (a few grouped engine passes for all organisations),
answers are corroborated against them, contradicted answers go to the scorer as *no* and become
`contradiction` findings, and only then are likelihood, impact and the register computed.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from audit_kit.assessment import risk
from audit_kit.assessment.corroborate import AnswerLike, corroborate, declared_texts, plan_for
from audit_kit.assessment.measures import Entitled, OrgMeasures, Window, log_window, measure_orgs
from audit_kit.assessment.plan import build_actions
from audit_kit.assessment.register import (
    ControlGap,
    OrgInputs,
    build_register,
    owner_from_respondent,
    rate_from_register,
)
from audit_kit.assessment.scores import ScoreView, score_orgs
from audit_kit.catalogue import SHIPPED, Catalogue, CatalogueLibrary
from audit_kit.config import AuditConfig
from audit_kit.engine.base import Engine
from audit_kit.errors import AuditKitError, InputError
from audit_kit.models.assessment import (
    CheckStatus,
    ControlCheck,
    NationalAssessment,
    OrgAssessment,
    Period,
    Reach,
    RiskLevel,
    ScoreSummary,
    Totals,
)
from audit_kit.models.findings import Finding, Severity, finding_key
from audit_kit.progress import NULL_PROGRESS, Progress
from audit_kit.store import questionnaires as questionnaire_store
from audit_kit.store.assessments import load_latest_assessment, store_assessment
from audit_kit.store.findings import delete_detector, load_findings, store_findings
from audit_kit.store.ingest import UNREGISTERED_TYPE, active_users, organisations, unregistered_orgs
from audit_kit.store.workspace import Workspace

DEFAULT_CHECKLIST = "accessing-organisation"
CONTRADICTION = "contradiction"


@dataclass(frozen=True)
class Submitted:
    """The latest questionnaire of one organisation: its answers and who answered."""

    submission_id: str
    version: int
    answers: Mapping[str, AnswerLike]
    respondent: Mapping[str, str]


def assess_workspace(
    ws: Workspace,
    config: AuditConfig,
    as_of: date | None = None,
    checklist_id: str | None = None,
    progress: Progress = NULL_PROGRESS,
    store: bool = True,
    now: datetime | None = None,
    catalogues: CatalogueLibrary = SHIPPED,
    engine: Engine | None = None,
) -> NationalAssessment:
    """Assess every organisation in the workspace and (with `store`) keep the result, dated.

    `config` is the run's configuration (allow-listed purposes and entitlements, shared with the
    detectors; its source and fingerprint are stored with the assessment). `as_of` limits the evidence
    to logs up to that date (default: the end of the logs). Raises InputError when the workspace holds
    no organisations or no events. `engine` measures the logs (default: DuckDB over `ws`; Spark gives the
    same measures); results are stored in `ws` whichever engine measured them.
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    orgs = [(o.org_id, o.name, o.type, o.area) for o in organisations(ws)]
    # A body with events or a questionnaire but no organisations.csv row is rated too (not dropped).
    orgs += [(o, o, UNREGISTERED_TYPE, "") for o in unregistered_orgs(ws)]
    if not orgs:
        raise InputError(f"{ws.path}: the workspace has no organisations",
                         hint="ingest a dataset with organisations.csv first (audit-kit ingest DATASET_DIR)")
    window = log_window(ws, as_of, engine=engine)
    if window is None:
        raise InputError(f"{ws.path}: the workspace has no events" + (f" up to {as_of}" if as_of else ""),
                         hint="ingest the access logs (DATASET_DIR/events/) before assessing")
    progress.start("Assessing organisations", total=5)
    checklist = checklist_id or _default_checklist(ws)
    submitted = latest_submissions(ws, checklist)
    catalogue = _catalogue(catalogues, checklist)
    notes: list[str] = []
    if catalogue is None:
        notes.append(f"Checklist {checklist!r} could not be loaded: no answer is tested against the logs, and "
                     "control titles and remediation are missing.")

    # Which answers the logs test, and how, is the catalogue's to say (its controls' log checks).
    plan = plan_for(catalogue, config)
    if catalogue is not None and not plan.controls:
        notes.append(f"No control of checklist {checklist!r} names a log measure that can test its answer, so no "
                     "answer was corroborated against the logs (an imported catalogue needs a measure map: "
                     "audit-kit checklist apply-measures).")

    # 1. Measure the logs (a few grouped passes for every organisation at once).
    declared = {org_id: declared_texts(plan, sub.answers) for org_id, sub in submitted.items()}
    purposes, entitled = _config(config)
    national: dict[str, int] = {}
    measures = measure_orgs(ws, window, declared=declared, allowed_purposes=purposes, entitlements=entitled,
                            national=national, config=config, engine=engine)
    progress.advance()

    # 2. Corroborate every log-testable answer; contradictions become findings.
    assessment_id = f"A-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    checks: dict[str, list[ControlCheck]] = {}
    credits: dict[str, dict[str, float]] = {}
    for org_id, *_ in orgs:
        sub = submitted.get(org_id)
        result = corroborate(org_id, sub.answers if sub else {}, measures[org_id], window, plan)
        checks[org_id], credits[org_id] = result.checks, result.credits
    contradiction_findings = _contradiction_findings(checks, catalogue, window, submitted)
    progress.advance()

    # 3. Score with contradicted answers counted as no.
    corroboration = {(c.org_id, c.control_id): c for cs in checks.values() for c in cs if c.claimed is not None}
    scores = score_orgs(ws, checklist, corroboration, notes, catalogues)
    progress.advance()

    # 4. Access findings behind the likelihood (the detectors' stored findings; contradictions apart).
    access = [f for f in load_findings(ws) if f.detector != CONTRADICTION and f.org_id is not None
              and _in_window(f, window)]
    by_org: dict[str, list[Finding]] = {}
    for f in access:
        if f.org_id is not None:
            by_org.setdefault(f.org_id, []).append(f)
    if not access:
        notes.append("No access findings are stored for the assessment period: run detection (audit-kit detect) "
                     "for the likelihood to reflect observed misuse.")
    previous = load_latest_assessment(ws)

    # 5. Rate each organisation and build its register.
    results: list[OrgAssessment] = []
    contradicted_by_org: dict[str, list[Finding]] = {}
    for f in contradiction_findings:
        contradicted_by_org.setdefault(str(f.org_id), []).append(f)
    for org_id, name, type_, area in orgs:
        results.append(_rate_org(
            org_id, name, type_, area, measures[org_id], checks[org_id], credits[org_id], scores.get(org_id),
            submitted.get(org_id), by_org.get(org_id, []), catalogue, window,
            previous.org(org_id) if previous else None, contradicted_by_org.get(org_id, []),
        ))
    progress.advance()
    results.sort(key=lambda o: (-o.risk_level.rank, -o.risk_score, o.org_id))
    assessment = NationalAssessment(
        assessment_id=assessment_id, assessed_at=now, as_of=window.as_of,
        period=Period(start=window.start, end=window.end, days=window.days), checklist_id=checklist,
        method_version=risk.METHOD_VERSION, orgs=results, totals=_totals(ws, results, window, national),
        previous_assessment_id=previous.assessment_id if previous else None, notes=notes,
        config_source=config.source, config_sha256=config.sha256,
    )
    if store:
        with ws.transaction():
            # Contradictions reflect the current answers and logs: replace the previous set.
            delete_detector(ws, CONTRADICTION)
            store_findings(ws, contradiction_findings, run_id=assessment_id, detected_at=now)
            store_assessment(ws, assessment)
    progress.advance()
    return assessment


def _in_window(f: Finding, window: Window) -> bool:
    """Whether a finding falls in the assessment period (findings after `as_of` do not count)."""
    first = f.first_seen.replace(tzinfo=None) if f.first_seen else None
    last = f.last_seen.replace(tzinfo=None) if f.last_seen else first
    if first is not None and first >= window.end:
        return False
    return last is None or last >= window.start


def latest_submissions(ws: Workspace, checklist_id: str) -> dict[str, Submitted]:
    """Each organisation's latest questionnaire version for the checklist (empty if none imported)."""
    latest = {sub.org_id: sub for sub in questionnaire_store.load_submissions(ws, checklist_id=checklist_id)}
    respondents = questionnaire_store.respondents(ws) if latest else {}  # versions ascend: the last wins
    return {
        org_id: Submitted(
            submission_id=s.submission_id, version=s.version, answers={a.control_id: a for a in s.answers},
            respondent=respondents.get(s.submission_id, {}),
        )
        for org_id, s in latest.items()
    }


def _default_checklist(ws: Workspace) -> str:
    # The checklist most organisations answered; the shipped catalogue when none did.
    return questionnaire_store.most_answered_checklist(ws, DEFAULT_CHECKLIST) or DEFAULT_CHECKLIST


def _catalogue(catalogues: CatalogueLibrary, checklist_id: str) -> Catalogue | None:
    try:
        return catalogues.load(checklist_id)
    except AuditKitError:  # an unloadable catalogue is reported in notes, not fatal
        return None


def _config(cfg: AuditConfig) -> tuple[tuple[str, ...], Entitled]:
    """The config's allow-listed purposes and cross-caseload entitlements, shared with the detectors."""
    return tuple(cfg.allow.purposes), Entitled(
        cross_area_roles=tuple(cfg.entitlements.cross_area_roles),
        cross_area_org_types=tuple(cfg.entitlements.cross_area_org_types),
        out_of_hours_roles=tuple(cfg.entitlements.out_of_hours_roles),
    )


def _contradiction_findings(
    checks: dict[str, list[ControlCheck]], catalogue, window: Window, submitted: Mapping[str, Submitted]
) -> list[Finding]:
    findings = []
    controls = catalogue.by_id() if catalogue else {}
    for org_id, org_checks in checks.items():
        for c in org_checks:
            if c.status is not CheckStatus.CONTRADICTED:
                continue
            control = controls.get(c.control_id)
            severity = max(control.severity, Severity.MEDIUM) if control else Severity.HIGH
            weight = control.weight if control else 3.0
            fid = finding_key(CONTRADICTION, org_id, c.control_id)
            c.finding_id = fid
            sub = submitted.get(org_id)
            findings.append(Finding(
                finding_id=fid, detector=CONTRADICTION, severity=severity, score=round(min(1.0, 0.5 + weight / 10), 2),
                org_id=org_id, user_id=None, record_count=0, first_seen=window.start, last_seen=window.end,
                summary=f"{org_id}'s answer to {c.control_id}"
                        f"{' (' + c.control_title + ')' if c.control_title else ''} is contradicted by its logs: "
                        f"{c.detail}",
                evidence={
                    "control_id": c.control_id, "control_title": c.control_title, "claimed": c.claimed,
                    "observed": c.observed, "measure": c.measure, "measures": c.measures,
                    "submission_id": sub.submission_id if sub else None,
                    "questionnaire_version": sub.version if sub else None,
                    "period": [window.start.isoformat(), window.end.isoformat()],
                },
            ))
    return findings


def _rate_org(
    org_id: str, name: str, type_: str, area: str, m: OrgMeasures, checks: list[ControlCheck],
    credits: Mapping[str, float], score: ScoreView | None, sub: Submitted | None, findings: list[Finding],
    catalogue, window: Window, previous: OrgAssessment | None, contradiction_findings: list[Finding],
) -> OrgAssessment:
    received = sub is not None
    contradictions = [c for c in checks if c.status is CheckStatus.CONTRADICTED]
    users = m.users
    counts = Counter(f.severity for f in findings)
    serious = sum(n for s, n in counts.items() if s >= Severity.MEDIUM)
    rate = 1000 * serious / max(users, 1)
    reach = Reach(children=m.children_reachable, shielded_children=m.shielded_reachable, users=users,
                  active_users=m.active_accounts, exported_records=m.exported_records,
                  export_capable=m.export_events > 0)
    controls = catalogue.by_id() if catalogue else {}
    if received and score is not None:
        weighted_gap = score.weighted_gap
        must_pass_failed = len(score.must_pass_failed)
        gaps = {cid: ControlGap(cid, credit, controls[cid].weight if cid in controls else 1.0,
                                controls[cid].remediation if cid in controls else "",
                                contradicted=any(c.control_id == cid for c in contradictions))
                for cid, credit in score.credits.items() if credit < 1}
        weights = {cid: (controls[cid].weight if cid in controls else 1.0) for cid in score.credits}
    else:
        # Logs only: the log-testable controls whose observed practice falls short are the gaps.
        weighted_gap, gaps, weights = _gaps_from_logs(checks, credits, controls)
        must_pass_failed = 0
    inputs = risk.LikelihoodInputs(
        weighted_gap=weighted_gap, contradictions=len(contradictions), findings_per_1000_users=rate,
        critical_findings=counts.get(Severity.CRITICAL, 0), must_pass_failed=must_pass_failed,
        logs_only=not received,
    )
    _, l_factors = risk.likelihood(inputs)  # the body-wide picture; the rating is its worst register entry
    impact, i_factors = risk.impact(reach)
    org_inputs = OrgInputs(
        org_id=org_id, name=name, impact=impact, reach=reach, users=users, questionnaire_received=received,
        gaps=gaps, weights=weights, contradictions=contradictions, findings=findings,
        owner=owner_from_respondent(sub.respondent if sub else None, name),
        contradiction_findings=contradiction_findings,
        must_pass_failed=list(score.summary.must_pass_failed) if (received and score is not None) else [],
    )
    register = build_register(org_inputs, window.as_of)
    likelihood, impact, level = rate_from_register(register, impact)
    if register:  # the factors shown beside the rating are those of the entry that sets it
        l_factors = register[0].likelihood_factors
    return OrgAssessment(
        org_id=org_id, name=name, type=type_, area=area, likelihood=likelihood, impact=impact,
        risk_level=level, tier=risk.tier(level), questionnaire_received=received, logs_only=not received,
        score=score.summary if (received and score is not None) else None, checks=checks,
        contradictions=contradictions, finding_counts={s: counts.get(s, 0) for s in Severity},
        findings_per_1000_users=round(rate, 2), reach=reach, likelihood_factors=l_factors,
        impact_factors=i_factors, register=register, actions=build_actions(org_inputs, register),
        previous_risk_level=previous.risk_level if previous else None,
    )


def _gaps_from_logs(
    checks: list[ControlCheck], credits: Mapping[str, float], controls
) -> tuple[float | None, dict[str, ControlGap], dict[str, float]]:
    """Logs only: the log-testable controls whose observed practice falls short are the gaps.

    `credits` is what each control's tests say the logs alone show (1 yes, 0.5 partial, 0 no); a control
    the logs cannot judge has none and is left out of the weighted gap.
    """
    gaps: dict[str, ControlGap] = {}
    weights: dict[str, float] = {}
    for c in checks:
        credit = credits.get(c.control_id)
        if credit is None:
            continue
        control = controls.get(c.control_id)
        weight = control.weight if control else 1.0
        weights[c.control_id] = weight
        if credit < 1:
            gaps[c.control_id] = ControlGap(c.control_id, credit, weight, control.remediation if control else "")
    if not weights:
        return None, gaps, weights
    total = sum(weights.values())
    return sum(g.weight * (1 - g.credit) for g in gaps.values()) / total, gaps, weights


def _totals(ws: Workspace, orgs: list[OrgAssessment], window: Window, national: dict[str, int]) -> Totals:
    by_level = Counter(o.risk_level for o in orgs)
    by_tier = Counter(o.tier for o in orgs)
    checks = Counter(c.status for o in orgs for c in o.checks if c.claimed is not None)  # answered only
    sev: Counter[Severity] = Counter()
    for o in orgs:
        sev.update(o.finding_counts)
    users = active_users(ws, window.as_of)
    return Totals(
        organisations=len(orgs),
        questionnaires_received=sum(o.questionnaire_received for o in orgs),
        logs_only=sum(o.logs_only for o in orgs),
        by_risk_level={lvl: by_level.get(lvl, 0) for lvl in reversed(list(RiskLevel))},
        by_tier={t: by_tier.get(t, 0) for t in (1, 2, 3, 4)},
        checks={s: checks.get(s, 0) for s in CheckStatus},
        contradictions=checks.get(CheckStatus.CONTRADICTED, 0),
        findings_by_severity={s: sev.get(s, 0) for s in Severity},
        children_reachable=national.get("children", 0),
        shielded_children=national.get("shielded", 0),
        users=users,
    )


__all__ = ["assess_workspace", "latest_submissions", "ScoreSummary"]
