"""The national risk assessment and the public summary, assembled from report facts by the section
builders. Pure: no workspace here (the facts were gathered by `audit_kit.report.facts`)."""

from __future__ import annotations

from audit_kit.assessment.register import NO_ASSURANCE, THEMES
from audit_kit.models.assessment import OrgAssessment, RiskLevel
from audit_kit.report.facts import ReportFacts
from audit_kit.report.format import level, n, pct, period_text, plural
from audit_kit.report.models import (
    KeyValue,
    Limitations,
    NationalReport,
    Opinion,
    OrgAnnex,
    PublicSummary,
    Table,
)
from audit_kit.report.scores import OrgScoreData
from audit_kit.report.sections import actions, assurance, document, findings, limitations, public, risk, scope
from audit_kit.store.coverage import OrgRow

TITLE = "National risk assessment of organisations accessing children's records"


def _rated(f: ReportFacts) -> list[OrgAssessment]:
    rated = list(f.assessment.orgs) if f.assessment is not None else []
    rated.sort(key=lambda o: (-o.risk_level.rank, -o.likelihood * o.impact, o.org_id))
    return rated


def build_national(f: ReportFacts) -> NationalReport:
    rated = _rated(f)
    names = {o.org_id: o.name for o in f.orgs}
    cov = f.coverage
    period = period_text(cov.period_start, cov.period_end)
    meta = document.meta(TITLE, "National risk assessment",
                         "Security of accessing bodies, inappropriate access, and what each body must fix",
                         f.restricted, f.reviewer, period,
                         "Risk assessment of accessing organisations: controls, access findings, risk register",
                         ["risk assessment", "children's records", "access audit", "CAF", "ISO 27001", "DPIA"],
                         f.issued)
    ops = assurance.opinions(rated, f.scores)
    body_ops = {o.org_id: assurance.body_opinion(o).level for o in rated}
    register, entries = risk.register_table(rated, f.issued)
    cards = [risk.entry_card(o, e, f.restricted) for o, e in entries if e.risk_level.rank >= 4]
    shown, note = findings.most_serious(f.top, names, f.counts.total) if f.restricted else (
        [], "Individual findings are withheld from the public summary: it carries counts only.")
    domain_chart, _ = scope.domain_chart([c for s in f.scores.values() for c in s.controls],
                                         "Control outcomes by domain, all bodies")
    follow, follow_note = actions.followup(f.actions, f.issued)
    return NationalReport(
        meta=meta, restricted=f.restricted,
        doc=document.doc_control(f.history, f.assessment, f.issued, f.reviewer, document.NATIONAL_DISTRIBUTION),
        key_messages=_messages(f, rated, ops.national.level),
        summary_facts=_summary_facts(f, rated, period),
        opinions=ops,
        recommendations=actions.recommendations(rated, f.issued, f.restricted),
        top_risks=risk.top_risks(entries, f.issued),
        coverage=scope.coverage(cov, names),
        limitations=limitations.limitations(f.assessment, f.runs, cov, f.scores, f.limits),
        method=scope.method(f.assessment), scales=scope.SCALES,
        heat_map=risk.heat_map(rated),
        league=risk.league(f.orgs, rated, f.scores, f.counts, body_ops),
        controls_note=scope.controls_note(f.scores, len(f.orgs)),
        framework_tables=scope.framework_tables(f.scores), domain_chart=domain_chart,
        good_practice=limitations.good_practice(rated, f.scores),
        findings_facts=findings.facts(f.counts, f.contradictions),
        findings_by_detector=findings.by_detector(f.counts, f.restricted),
        findings_chart=findings.over_time(f.counts), findings=shown,
        findings_note=" ".join(x for x in (note, findings.undated_note(f.counts)) if x),
        figures=list(f.figures), register=register, register_cards=cards,
        followup=follow, followup_note=follow_note,
        annexes=[_annex(o, next((a for a in rated if a.org_id == o.org_id), None), f.scores.get(o.org_id),
                        f.counts.by_org.get(o.org_id, {})) for o in f.orgs],
        mapping=f.mapping or Table(["Control"], [], empty="No catalogue mapping."),
    )


def _summary_facts(f: ReportFacts, rated: list[OrgAssessment], period: str) -> list[KeyValue]:
    high = sum(1 for o in rated if o.risk_level.rank >= 4)
    return [
        KeyValue("Bodies assessed", n(len(rated)) if rated else "none (no assessment stored)"),
        KeyValue("High or Very High risk", n(high) if rated else "—"),
        KeyValue("Questionnaires received", n(sum(1 for o in rated if o.questionnaire_received))),
        KeyValue("Answers contradicted by the logs", n(sum(len(o.contradictions) for o in rated))),
        KeyValue("Access findings (contradictions apart)", n(f.counts.total)),
        KeyValue("Period of logs", period),
        KeyValue("Issued", f.issued.isoformat()),
    ]


def _messages(f: ReportFacts, rated: list[OrgAssessment], national: str) -> list[str]:
    msgs = []
    if f.assessment is None:
        return ["No risk assessment is stored in this workspace, so bodies are not yet rated; run `audit-kit assess` "
                "and render this report again."]
    high = [o for o in rated if o.risk_level.rank >= 4]
    vh = [o for o in rated if o.risk_level is RiskLevel.VERY_HIGH]
    msgs.append(f"Overall assurance: {national}. {len(high)} of {plural(len(rated), 'body', 'bodies')} "
                f"{'has' if len(high) == 1 else 'have'} a High or Very High risk"
                + (f"; {', '.join(o.org_id for o in vh[:8])} {'is' if len(vh) == 1 else 'are'} Very High." if vh
                   else "."))
    urgent = [(o, a) for o in rated for a in o.actions if a.priority.value == "urgent"]
    if urgent:
        bodies = sorted({o.org_id for o, _ in urgent})
        msgs.append(f"{plural(len(urgent), 'urgent action')} at {plural(len(bodies), 'body', 'bodies')} must be "
                    "contained and investigated within 7 days of this report (critical findings).")
    breach = [a for o in rated for a in o.actions if a.breach_prompt]
    if breach:
        msgs.append(f"{plural(len(breach), 'action')} ask the body to assess a possible personal-data breach "
                    "(72 hours to report to the ICO once aware).")
    contradicted = [o for o in rated if o.contradictions]
    if contradicted:
        total = sum(len(o.contradictions) for o in contradicted)
        msgs.append(f"The logs contradict {plural(total, 'questionnaire answer')} from "
                    f"{plural(len(contradicted), 'body', 'bodies')}: controls are weaker than the bodies reported.")
    if f.counts.total:
        serious = f.counts.by_severity.get("high", 0) + f.counts.by_severity.get("critical", 0)
        msgs.append(f"The detectors raised {plural(f.counts.total, 'access finding')}, {n(serious)} of them high or "
                    "critical; these are indicators to investigate, not proof of misconduct.")
    logs_only = [o for o in rated if o.logs_only]
    if logs_only:
        msgs.append(f"{plural(len(logs_only), 'body', 'bodies')} sent no questionnaire and "
                    f"{'was' if len(logs_only) == 1 else 'were'} rated from logs alone.")
    overdue = [s for s in f.actions if s.overdue(f.issued)]
    if overdue:
        msgs.append(f"{plural(len(overdue), 'earlier action')} {'is' if len(overdue) == 1 else 'are'} overdue and "
                    "not done (see Follow-up of earlier actions).")
    return msgs


def _annex(org: OrgRow, a: OrgAssessment | None, score: OrgScoreData | None, sev: dict[str, int]) -> OrgAnnex:
    capped = score is not None and score.raw_score is not None and score.overall is not None \
        and score.raw_score > score.overall + 0.5
    facts = [
        KeyValue("Type and area", f"{org.type.replace('_', ' ')}, {org.area}"),
        KeyValue("Events / users", f"{n(org.events)} events, {n(org.users)} user accounts"),
        KeyValue("Compliance score", (pct(score.overall) + (f" ({score.outcome})" if score.outcome else "")
                                      + (f"; {pct(score.raw_score)} before the cap for failed must-pass "
                                         f"{', '.join(score.must_pass_failed)}" if capped else ""))
                 if score else "no questionnaire scored"),
    ]
    if a is not None:
        worst = a.register[0].title if a.register else "nothing registered"
        facts += [
            KeyValue("Risk", f"{level(a.risk_level)}: likelihood {a.likelihood} × impact {a.impact}, from its worst "
                             f"register entry ({worst})"),
            KeyValue("Reach", f"{n(a.reach.children)} children, {n(a.reach.shielded_children)} shielded"),
        ]
    facts.append(KeyValue("Access findings", ", ".join(f"{n(sev[s])} {s}" for s in ("critical", "high", "medium",
                                                                                  "low", "info") if sev.get(s))
                          or "none"))
    controls = Table(["Domain", "Score"], [[d, pct(v)] for d, v in sorted((score.domains if score else {}).items())],
                     empty="No questionnaire was scored for this body.", caption="Control results by domain",
                     widths=(70, 30))
    contradicted = Table(
        ["Control", "Answer", "What the logs show"],
        [[c.control_id, c.claimed or "—", c.detail] for c in (a.contradictions if a else [])],
        empty="No answer was contradicted by the logs." if a is not None else "Not assessed.",
        caption="Contradicted answers", widths=(14, 16, 70),
    )
    register = Table(
        ["Risk", "L × I", "Level", "Findings", "Controls", "Owner role"],
        [[e.title, f"{e.likelihood} × {e.impact}", e.risk_level.value, n(len(e.findings)), ", ".join(e.controls)
          or "—", e.owner_role] for e in (a.register if a else [])],
        empty="No risks registered." if a is not None else "Not assessed: no risk assessment is stored.",
        caption="Risk register (each entry in full in the body's DPO pack)", nowrap=(1, 2),
        widths=(30, 8, 10, 10, 21, 21),
    )
    note = ("No questionnaire was received: this body is rated from its logs alone." if a is not None and a.logs_only
            else "This body has not been rated (no stored risk assessment covers it)." if a is None else "")
    opinion = assurance.body_opinion(a) if a is not None else assurance.national_opinion([])
    return OrgAnnex(org.org_id, org.name, opinion, facts, controls, contradicted, register, note)


def build_public(f: ReportFacts) -> PublicSummary:
    rated = _rated(f)
    cov = f.coverage
    meta = document.meta("Children's records database: how accessing bodies protect children's records",
                         "Public summary", "Assurance over the bodies that read children's records, in aggregate",
                         False, None, period_text(cov.period_start, cov.period_end),
                         "Public summary of the national risk assessment", ["public summary", "children's records"],
                         f.issued, public_doc=True)
    ops = {o.org_id: assurance.body_opinion(o).level for o in rated}
    national = assurance.national_opinion([assurance.body_opinion(o) for o in rated])
    titles = {t.key: t.title for t in (*THEMES, NO_ASSURANCE)}
    lim = limitations.limitations(f.assessment, f.runs, None, f.scores, f.limits)
    # Only the items without counts of bodies or people: the rest are in the restricted report.
    lim_items = [kv for kv in lim.items if kv.label in limitations.PUBLIC_ITEMS]
    lim_items.append(limitations.UNTESTABLE)
    measures = [
        ("Bodies assessed", len(rated)),
        ("Questionnaires returned", sum(o.questionnaire_received for o in rated)),
        ("Bodies with a High or Very High risk", sum(o.risk_level.rank >= 4 for o in rated)),
        ("Recommendations made", sum(len(o.actions) for o in rated)),
        ("Urgent recommendations (critical findings)", sum(a.priority.value == "urgent" for o in rated
                                                           for a in o.actions)),
    ]
    headline = Table(["Measure", "All bodies"], [[k, public.shown(v)] for k, v in measures],
                     caption="Headline figures")
    national = Opinion(national.level, national.css, national.reason.split(" (")[0])
    msgs = [f"The overall assurance opinion is {national.level}: {national.reason.split(' (')[0]}.",
            "Findings are indicators that an access needs explaining, not proof of misconduct; each body "
            "investigates its own and reports the outcome to the database holder."]
    return PublicSummary(
        meta=meta, key_messages=msgs, opinion=national, criteria=assurance.CRITERIA, headline=headline,
        by_type=public.by_type(rated, ops, assurance.ORDER),
        by_area=public.by_area(rated, [lv.value for lv in reversed(list(RiskLevel))]),
        findings_by_type=public.findings_by_type(rated, titles),
        actions_by_priority=public.actions_by_priority(rated),
        limitations=Limitations(lim_items), rule=public.RULE,
    )
