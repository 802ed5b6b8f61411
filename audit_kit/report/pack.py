"""One organisation's DPO pack, assembled from its pack facts by the section builders (pure)."""

from __future__ import annotations

from collections import Counter

from audit_kit.models.assessment import OrgAssessment
from audit_kit.report.facts import PackFacts
from audit_kit.report.format import SEVERITY_ORDER, detector_title, level, n, pct, period_text, plural
from audit_kit.report.models import KeyValue, Opinion, OrgPack, Table
from audit_kit.report.sections import actions, assurance, document, findings, limitations, risk, scope


def build_pack(f: PackFacts) -> OrgPack:
    org = f.org
    a = f.assessment.org(org.org_id) if f.assessment is not None else None
    prev = f.previous.org(org.org_id) if f.previous is not None else None
    score = f.score
    period = period_text(f.assessment.period.start, f.assessment.period.end) if f.assessment else "as stored"
    meta = document.meta(f"Data protection pack: {org.name}", f"DPO pack · {org.org_id}",
                         f"{org.org_id} · {org.type.replace('_', ' ')} · {org.area}", f.restricted, f.reviewer, period,
                         f"Compliance scorecard, evidence, findings and actions for {org.org_id}",
                         ["DPO pack", org.org_id, "children's records", "access audit"], f.issued)
    opinion = assurance.body_opinion(a) if a is not None else Opinion("Not given", "none", "no assessment stored")
    domain_chart, domains = scope.domain_chart(score.controls if score else [], "Your control outcomes by domain")
    if score:
        domains = Table(["Domain", "Score"], [[d, pct(v)] for d, v in sorted(score.domains.items())],
                        empty="No domain could be scored.", widths=(70, 30))
    answers, answers_note = _answers(a, f)
    if f.restricted:
        names = {org.org_id: org.name}
        shown = [findings.finding_view(x, names, True) for x in f.top]
        note = (f"The {len(shown)} most serious of your {n(f.counts.total)} access findings. Record ids are "
                "pseudonymised: quote a finding's reference (F-…) to ask the data holder to re-identify a record "
                "you need to investigate." if shown else "No access findings are stored for your organisation.")
    else:
        shown, note = [], "The public summary shows counts only; individual findings are withheld."
    follow, follow_note = actions.followup(f.actions, f.issued, org.org_id)
    trend, trend_note = _trend(a, prev, f)
    return OrgPack(
        meta=meta, restricted=f.restricted, org_id=org.org_id, org_name=org.name,
        doc=document.doc_control((), f.assessment, f.issued, f.reviewer, document.PACK_DISTRIBUTION),
        opinion=opinion, key_messages=_messages(a, f, opinion), scorecard=_scorecard(a, f),
        domain_chart=domain_chart, domains=domains, answers=answers, answers_note=answers_note,
        findings=shown, findings_table=Table(
            ["Kind of finding", *[s.capitalize() for s in SEVERITY_ORDER]],
            [[detector_title(d), *[n(sev.get(s, 0)) for s in SEVERITY_ORDER]] for d, sev, _o, _u in f.counts.by_detector],
            empty="No access findings are stored for this organisation."),
        findings_note=note,
        actions=actions.action_plan(a, f.issued, f.actions) if a is not None else [],
        breach_prompts=actions.breach_prompts(a, f.issued) if a is not None else [],
        followup=follow, followup_note=follow_note,
        register_cards=[risk.entry_card(a, e, f.restricted) for e in a.register] if a is not None else [],
        limitations=limitations.limitations(f.assessment, f.runs, None, {org.org_id: score} if score else {},
                                            f.limits, [a] if a is not None else []),
        trend=trend, trend_note=trend_note, figures=list(f.figures),
    )


def _messages(a: OrgAssessment | None, f: PackFacts, opinion: Opinion) -> list[str]:
    if a is None:
        return ["No risk assessment is stored for this organisation yet."]
    msgs = [f"Assurance: {opinion.level} ({opinion.reason}). Your worst risk is {level(a.risk_level)} "
            f"(likelihood {a.likelihood} × impact {a.impact})" + (f": {a.register[0].title.lower()}." if a.register
                                                                   else ".")]
    urgent = [x for x in a.actions if x.priority.value == "urgent"]
    if urgent:
        msgs.append(f"{plural(len(urgent), 'urgent action')}: contain and investigate within 7 days of "
                    f"{f.issued.isoformat()}.")
    if a.contradictions:
        msgs.append(f"The logs contradict {plural(len(a.contradictions), 'of your answers', 'of your answers')} "
                    f"({', '.join(c.control_id for c in a.contradictions)}); each is scored as 'no'.")
    if a.logs_only:
        msgs.append("We received no questionnaire from you, so this rating rests on your logs alone.")
    serious = f.counts.by_severity.get("high", 0) + f.counts.by_severity.get("critical", 0)
    msgs.append(f"The detectors raised {plural(f.counts.total, 'access finding')} about your organisation"
                + (f", {n(serious)} high or critical." if f.counts.total else "."))
    if a.actions:
        msgs.append(f"Please return the action plan (audit-kit actions export) with your management response to "
                    f"each of the {plural(len(a.actions), 'action')} below.")
    return msgs


def _scorecard(a: OrgAssessment | None, f: PackFacts) -> list[KeyValue]:
    s = f.score
    capped = s is not None and s.raw_score is not None and s.overall is not None and s.raw_score > s.overall + 0.5
    return [
        KeyValue("Compliance score", (pct(s.overall) + (f" (capped: {pct(s.raw_score)} before the cap for a failed "
                                                        "must-pass control)" if capped else "")) if s
                 else "no questionnaire scored"),
        KeyValue("Outcome", (s.outcome or "—") if s else "—"),
        KeyValue("Must-pass controls failed", (", ".join(s.must_pass_failed) or "none") if s else "—"),
        KeyValue("Risk level", f"{level(a.risk_level)} (worst register entry)" if a else "not rated"),
        KeyValue("Likelihood × impact", f"{a.likelihood} × {a.impact}" if a else "—"),
        KeyValue("Children you can reach", f"{n(a.reach.children)} ({n(a.reach.shielded_children)} shielded)"
                 if a else "—"),
        KeyValue("Users (active)", f"{n(a.reach.users)} ({n(a.reach.active_users)})" if a else n(f.org.users)),
        KeyValue("Access findings", ", ".join(f"{n(f.counts.by_severity[x])} {x}" for x in SEVERITY_ORDER
                                              if f.counts.by_severity.get(x)) or "none"),
    ]


def _answers(a: OrgAssessment | None, f: PackFacts) -> tuple[Table, str]:
    checks = {c.control_id: c for c in (a.checks if a is not None else [])}
    rows = []
    for c in f.score.controls if f.score else []:
        chk = checks.pop(c.control_id, None)
        rows.append([c.control_id, c.title, c.answer or "not answered",
                     chk.detail if chk else "Not testable from the logs.", _verdict(chk) if chk else "claimed"])
    for chk in checks.values():
        rows.append([chk.control_id, chk.control_title, chk.claimed or "not answered", chk.detail, _verdict(chk)])
    v = Counter(r[4] for r in rows)
    note = (f"{n(v['corroborated'])} answers corroborated by your logs, {n(v['contradicted'])} contradicted, "
            f"{n(v['no evidence'])} without log evidence either way, {n(v['claimed'])} taken as claimed (not "
            "testable from logs).") if rows else \
        "No questionnaire was submitted, so there are no answers to test against the logs."
    return Table(["Control", "Title", "Your answer", "What the logs show", "Verdict"], rows, nowrap=(0, 4),
                 empty="No questionnaire answers were received.", widths=(10, 24, 14, 38, 14)), note


def _verdict(check: object) -> str:
    status = level(getattr(check, "status", None))
    return {"corroborated": "corroborated", "contradicted": "contradicted", "no_evidence": "no evidence"}.get(
        status, status)


def _trend(a: OrgAssessment | None, prev: OrgAssessment | None, f: PackFacts) -> tuple[Table, str]:
    rows = []
    if a is not None and prev is not None:
        rows = [
            ["Risk level", level(prev.risk_level), level(a.risk_level)],
            ["Likelihood × impact", f"{prev.likelihood} × {prev.impact}", f"{a.likelihood} × {a.impact}"],
            ["Contradicted answers", n(len(prev.contradictions)), n(len(a.contradictions))],
            ["Compliance score", pct(prev.score.overall if prev.score else None),
             pct(f.score.overall if f.score else None)],
            ["Access findings", n(sum(prev.finding_counts.values())), n(sum(a.finding_counts.values()))],
        ]
        note = f"Compared with the assessment of {f.previous.as_of.isoformat()}." if f.previous else ""
    elif f.score and f.score.previous_overall is not None:
        rows = [["Compliance score", pct(f.score.previous_overall), pct(f.score.overall)]]
        note = "Compared with your previous questionnaire submission."
    else:
        note = "This is the first assessment of your organisation: trends appear from the next one."
    # with no rows the note says why: the table adds nothing
    return Table(["Measure", "Last time", "Now"], rows, empty=""), note
