"""The scoring method of docs/scoring.md, implemented once.

Credit per answer: yes 1, partial 0.5, no 0, n/a excluded; a choice earns its listed credit;
numbers, percentages and dates earn 1 / 0.5 / 0 against the control's `scoring` thresholds; a
missing mandatory answer earns 0; an answer the logs contradict earns 0. Scores are weighted means
× 100. Any must-pass control short of full credit caps the overall score at MUST_PASS_CAP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from audit_kit.catalogue import FRAMEWORKS, AnswerType, Catalogue, Control, Direction
from audit_kit.models.questionnaire import Answer
from audit_kit.scoring.models import (
    Confidence,
    ControlResult,
    ControlStatus,
    Corroboration,
    CorroborationStatus,
    DomainScore,
    DsptStatus,
    FrameworkResult,
    OrgScore,
    Outcome,
    RequirementResult,
)

ANSWER_CREDIT = {"yes": 1.0, "partial": 0.5, "no": 0.0}
MUST_PASS_CAP = 50.0
# Assured score: how much of an answer's credit counts at each confidence level.
CONFIDENCE_FACTOR = {
    Confidence.CONTRADICTED: 0.0,
    Confidence.CLAIMED: 0.6,
    Confidence.EVIDENCED: 0.8,
    Confidence.CORROBORATED: 1.0,
}
# DSPT-style status thresholds on the overall score (0..100).
STATUS_MET = 80.0
STATUS_APPROACHING = 60.0
STATUS_EXCEEDED = 95.0
# CAF-style outcome thresholds on a requirement's score (0..100).
OUTCOME_ACHIEVED = 90.0
OUTCOME_PARTIAL = 50.0
CAF_FRAMEWORKS = ("ncsc_caf", "ncsc_caf_4")


def credit_for(control: Control, answer: Answer, as_of: date) -> float | None:
    """Credit 0..1 for a validated answer, or None when it is excluded (n/a, unscored)."""
    if answer.not_applicable or not control.scored:
        return None
    t = control.answer_type
    if t in (AnswerType.YES_NO, AnswerType.YES_PARTIAL_NO):
        return ANSWER_CREDIT.get(answer.answer, 0.0)
    if t is AnswerType.CHOICE:
        return float((control.choices or {}).get(answer.answer, 0.0))
    rule = control.scoring
    assert rule is not None  # control.scored guarantees it
    if t is AnswerType.DATE:
        age = (as_of - date.fromisoformat(answer.answer)).days
        if age <= rule.full:
            return 1.0
        return 0.5 if rule.partial is not None and age <= rule.partial else 0.0
    value = answer.value if answer.value is not None else float(answer.answer)
    if rule.better is Direction.HIGHER:
        if value >= rule.full:
            return 1.0
        return 0.5 if rule.partial is not None and value >= rule.partial else 0.0
    if value <= rule.full:
        return 1.0
    return 0.5 if rule.partial is not None and value <= rule.partial else 0.0


def _weighted(results: Iterable[ControlResult]) -> float | None:
    num = den = 0.0
    for r in results:
        if r.credit is not None:
            num += r.weight * r.credit
            den += r.weight
    return round(100.0 * num / den, 1) if den else None


def status_for(score: float | None, must_pass_failed: bool, all_assured: bool) -> DsptStatus:
    """DSPT-style status from a score, the must-pass cap and whether every answer has evidence."""
    if score is None or must_pass_failed or score < STATUS_APPROACHING:
        return DsptStatus.NOT_MET
    if score < STATUS_MET:
        return DsptStatus.APPROACHING
    if score >= STATUS_EXCEEDED and all_assured:
        return DsptStatus.EXCEEDED
    return DsptStatus.MET


def outcome_for(score: float | None, any_must_pass_failed: bool, any_contradicted: bool) -> Outcome:
    """CAF-style outcome: Achieved needs ≥90 with no failed must-pass and no contradicted answer."""
    if score is None:
        return Outcome.NOT_APPLICABLE
    if score >= OUTCOME_ACHIEVED and not any_must_pass_failed and not any_contradicted:
        return Outcome.ACHIEVED
    if score >= OUTCOME_PARTIAL:
        return Outcome.PARTIALLY_ACHIEVED
    return Outcome.NOT_ACHIEVED


def _framework(fw: str, results: list[ControlResult], catalogue: Catalogue) -> FrameworkResult | None:
    by_req: dict[str, list[ControlResult]] = {}
    by_id = {r.control_id: r for r in results}
    for c in catalogue.controls:
        for req in c.mappings.get(fw, []):
            by_req.setdefault(req, []).append(by_id[c.id])
    if not by_req:
        return None
    reqs: list[RequirementResult] = []
    for req in sorted(by_req, key=_natural):
        rs = by_req[req]
        score = _weighted(rs)
        mp_failed = any(r.must_pass_failed for r in rs)
        contradicted = any(r.confidence is Confidence.CONTRADICTED for r in rs)
        if fw == "dspt":
            label = status_for(
                score, mp_failed, all(r.confidence is not Confidence.CLAIMED for r in rs)
            ).value
            if score is None:
                label = Outcome.NOT_APPLICABLE.value
        elif fw == "cyber_essentials":
            # Cyber Essentials is pass or fail: every mapped control must be fully in place.
            scored = [r for r in rs if r.credit is not None]
            label = (
                ("Pass" if all(r.credit == 1.0 for r in scored) else "Fail")
                if scored
                else Outcome.NOT_APPLICABLE.value
            )
        else:
            label = outcome_for(score, mp_failed, contradicted).value
        reqs.append(
            RequirementResult(
                requirement=req, score=score, outcome=label, controls=[r.control_id for r in rs]
            )
        )
    summary: dict[str, int] = {}
    for r in reqs:
        summary[r.outcome] = summary.get(r.outcome, 0) + 1
    return FrameworkResult(framework=fw, name=FRAMEWORKS[fw], requirements=reqs, summary=summary)


def _natural(text: str) -> list[object]:
    import re

    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]


def score_answers(
    catalogue: Catalogue,
    answers: Iterable[Answer],
    as_of: date,
    org_id: str,
    corroboration: Mapping[tuple[str, str], Corroboration] | None = None,
) -> OrgScore:
    """Score one organisation's answers against a catalogue (dates are judged as of `as_of`)."""
    given = {a.control_id: a for a in answers}
    corroboration = corroboration or {}
    results: list[ControlResult] = []
    for c in catalogue.controls:
        a = given.get(c.id)
        corr = corroboration.get((org_id, c.id))
        confidence: Confidence | None = None
        if a is None:
            status = ControlStatus.MISSING if (c.mandatory and c.scored) else ControlStatus.UNANSWERED
            credit: float | None = 0.0 if status is ControlStatus.MISSING else None
        elif a.not_applicable:
            status, credit = ControlStatus.NOT_APPLICABLE, None
        elif not c.scored:
            status, credit = ControlStatus.UNSCORED, None
        else:
            status, credit = ControlStatus.ANSWERED, credit_for(c, a, as_of)
            confidence = Confidence.EVIDENCED if a.evidence.strip() else Confidence.CLAIMED
            if corr is not None and corr.status is CorroborationStatus.CORROBORATED:
                confidence = Confidence.CORROBORATED
            elif corr is not None and corr.status is CorroborationStatus.CONTRADICTED:
                confidence, credit = Confidence.CONTRADICTED, 0.0
        # A must-pass control fails unless it is fully met (n/a is refused at import; treat it as failed).
        mp_failed = c.must_pass and (credit is None or credit < 1.0)
        results.append(
            ControlResult(
                control_id=c.id,
                title=c.title,
                domain=c.domain,
                status=status,
                answer=a.answer if a else None,
                credit=credit,
                weight=c.weight,
                must_pass=c.must_pass,
                must_pass_failed=mp_failed,
                confidence=confidence,
                corroboration=corr,
                evidence=a.evidence if a else "",
                comment=a.comment if a else "",
                gap=(credit is not None and credit < 1.0) or mp_failed,
                severity=c.severity.value,
                remediation=c.remediation,
            )
        )
    raw = _weighted(results)
    failed = [r.control_id for r in results if r.must_pass_failed]
    overall = min(raw, MUST_PASS_CAP) if (raw is not None and failed) else raw
    assured_num = assured_den = 0.0
    confidence_counts: dict[str, int] = {}
    for r in results:
        if r.credit is not None:
            factor = CONFIDENCE_FACTOR[r.confidence] if r.confidence else 0.0  # missing: no credit anyway
            assured_num += r.weight * r.credit * factor
            assured_den += r.weight
        if r.confidence is not None:
            confidence_counts[r.confidence.value] = confidence_counts.get(r.confidence.value, 0) + 1
    assured = round(100.0 * assured_num / assured_den, 1) if assured_den else None
    if assured is not None and failed:
        assured = min(assured, MUST_PASS_CAP)
    all_assured = all(
        r.confidence in (Confidence.EVIDENCED, Confidence.CORROBORATED)
        for r in results
        if r.credit is not None
    )
    domains = []
    for d in catalogue.domains:
        rs = [r for r in results if r.domain == d]
        domains.append(
            DomainScore(
                domain=d,
                score=_weighted(rs),
                controls=len(rs),
                scored=sum(r.credit is not None for r in rs),
                gaps=sum(r.gap for r in rs),
            )
        )
    frameworks = {}
    for fw in FRAMEWORKS:
        if fw == "source":
            continue
        res = _framework(fw, results, catalogue)
        if res is not None:
            frameworks[fw] = res
    return OrgScore(
        org_id=org_id,
        checklist_id=catalogue.id,
        checklist_version=catalogue.version,
        submission_id=None,
        version=None,
        submitted=as_of,
        overall=overall,
        raw_score=raw,
        assured_score=assured,
        status=status_for(overall, bool(failed), all_assured),
        must_pass_failed=failed,
        gaps=sum(r.gap for r in results),
        confidence=confidence_counts,
        domains=domains,
        controls=results,
        frameworks=frameworks,
    )
