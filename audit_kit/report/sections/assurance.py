"""Assurance opinions — Substantial, Reasonable, Limited, No — with the written criteria they apply.

The criteria are the rules below, stated in the report (`CRITERIA`), so a reader can check every
opinion against its facts: a body's opinion from its register and findings, the national opinion from
the share of bodies at each opinion, a control area's from its scores and contradicted answers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from audit_kit.models.assessment import OrgAssessment, RiskLevel
from audit_kit.models.findings import Severity
from audit_kit.report.format import n, pct
from audit_kit.report.models import Opinion, Opinions, Table
from audit_kit.report.scores import OrgScoreData

SUBSTANTIAL, REASONABLE, LIMITED, NO = "Substantial", "Reasonable", "Limited", "No assurance"
ORDER = (SUBSTANTIAL, REASONABLE, LIMITED, NO)
CSS = {SUBSTANTIAL: "substantial", REASONABLE: "reasonable", LIMITED: "limited", NO: "none"}

CRITERIA = Table(
    ["Opinion", "A body", "All bodies (national)", "A control area"],
    [
        [SUBSTANTIAL, "No register entry above Low and no finding of medium severity or above.",
         "No body below Reasonable, and at least three quarters Substantial.",
         "Average score 90% or more and no answer contradicted by the logs."],
        [REASONABLE, "Worst register entry Moderate, or medium findings, or a must-pass control failed; "
                     "no high or critical finding and no contradicted answer.",
         "At most one body in ten at Limited or No assurance.",
         "Average score 75% or more; contradicted answers from at most one body."],
        [LIMITED, "Worst register entry High, or a high finding, or an answer contradicted by the logs, or no "
                  "questionnaire returned.",
         "More than one body in ten at Limited or No assurance, but fewer than a quarter at No.",
         "Average score 50% or more."],
        [NO, "A Very High register entry, or a critical finding (access or contradicted answer).",
         "A quarter of bodies or more at No assurance.",
         "Average score below 50%, or answers contradicted in a quarter of the bodies answering."],
    ],
    caption="Criteria for each assurance opinion",
)


def _worst_severity(o: OrgAssessment) -> Severity | None:
    seen = [s for e in o.register for s, k in e.finding_severity.items() if k]
    seen += [s for s, k in o.finding_counts.items() if k and s >= Severity.MEDIUM]
    return max(seen, key=lambda s: s.rank) if seen else None


def body_opinion(o: OrgAssessment) -> Opinion:
    worst = max((e.risk_level for e in o.register), key=lambda lv: lv.rank, default=None)
    sev = _worst_severity(o)
    if worst is RiskLevel.VERY_HIGH or sev is Severity.CRITICAL:
        why = "a Very High risk" if worst is RiskLevel.VERY_HIGH else "a critical finding"
        return Opinion(NO, CSS[NO], f"{why} is open")
    if worst is RiskLevel.HIGH or sev is Severity.HIGH or o.contradictions or not o.questionnaire_received:
        why = ("no questionnaire returned" if not o.questionnaire_received
               else f"{n(len(o.contradictions))} answer(s) contradicted by the logs" if o.contradictions
               else "a High risk" if worst is RiskLevel.HIGH else "high-severity findings")
        return Opinion(LIMITED, CSS[LIMITED], why)
    must_pass = bool(o.score and o.score.must_pass_failed)
    if worst is RiskLevel.MODERATE or sev is Severity.MEDIUM or must_pass:
        why = ("a must-pass control failed" if must_pass else "a Moderate risk" if worst is RiskLevel.MODERATE
               else "medium findings")
        return Opinion(REASONABLE, CSS[REASONABLE], why)
    return Opinion(SUBSTANTIAL, CSS[SUBSTANTIAL], "no risk above Low and no finding of note")


def national_opinion(opinions: Sequence[Opinion]) -> Opinion:
    if not opinions:
        return Opinion("Not given", "none", "no body has been assessed")
    count = Counter(o.level for o in opinions)
    total = len(opinions)
    below = count[LIMITED] + count[NO]
    spread = ", ".join(f"{count[lv]} {lv.lower() if lv != NO else 'no assurance'}" for lv in ORDER if count[lv])
    if count[NO] * 4 >= total:
        return Opinion(NO, CSS[NO], f"a quarter or more of bodies are at No assurance ({spread})")
    if below * 10 > total:
        return Opinion(LIMITED, CSS[LIMITED], f"more than one body in ten is at Limited or No assurance ({spread})")
    if below or count[SUBSTANTIAL] * 4 < total * 3:
        return Opinion(REASONABLE, CSS[REASONABLE], f"most bodies have sound controls ({spread})")
    return Opinion(SUBSTANTIAL, CSS[SUBSTANTIAL], f"bodies' controls are sound throughout ({spread})")


def area_opinion(mean: float | None, contradicted_bodies: int, answering: int) -> Opinion:
    if mean is None:
        return Opinion("Not given", "none", "no answers scored")
    if mean < 50 or (answering and contradicted_bodies * 4 >= answering and contradicted_bodies > 0):
        return Opinion(NO, CSS[NO], f"average {pct(mean)}, contradicted at {contradicted_bodies} bodies")
    if mean < 75 or contradicted_bodies > 1:
        return Opinion(LIMITED, CSS[LIMITED], f"average {pct(mean)}, contradicted at {contradicted_bodies} bodies")
    if mean < 90 or contradicted_bodies:
        return Opinion(REASONABLE, CSS[REASONABLE], f"average {pct(mean)}")
    return Opinion(SUBSTANTIAL, CSS[SUBSTANTIAL], f"average {pct(mean)}, nothing contradicted")


def by_area(scores: dict[str, OrgScoreData], rated: Iterable[OrgAssessment]) -> list[tuple[str, Opinion, float | None,
                                                                                        int, int]]:
    """Per control area (catalogue domain): opinion, average score, bodies answering, bodies contradicted."""
    domain_of = {c.control_id: c.domain for s in scores.values() for c in s.controls}
    contradicted: dict[str, set[str]] = {}
    for o in rated:
        for c in o.contradictions:
            contradicted.setdefault(domain_of.get(c.control_id, "Other"), set()).add(o.org_id)
    values: dict[str, list[float]] = {}
    for s in scores.values():
        for d, v in s.domains.items():
            if v is not None:
                values.setdefault(d, []).append(v)
    out = []
    for d in sorted(values):  # areas with scored answers (a contradiction outside them is in its body's annex)
        vs = values.get(d, [])
        mean = sum(vs) / len(vs) if vs else None
        bad = len(contradicted.get(d, set()))
        out.append((d, area_opinion(mean, bad, len(vs)), mean, len(vs), bad))
    return out


def opinions(rated: Sequence[OrgAssessment], scores: dict[str, OrgScoreData]) -> Opinions:
    bodies = [(o, body_opinion(o)) for o in rated]
    national = national_opinion([op for _, op in bodies])
    order = {lv: i for i, lv in enumerate(reversed(ORDER))}
    bodies.sort(key=lambda t: (order.get(t[1].level, 9), t[0].org_id))
    by_body = Table(
        ["Body", "Name", "Opinion", "Because", "Worst risk"],
        [[o.org_id, o.name, op.level, op.reason, o.risk_level.value] for o, op in bodies],
        empty="No body has been assessed.", nowrap=(0, 2),
    )
    areas = Table(
        ["Control area", "Opinion", "Average score", "Bodies answering", "Bodies contradicted"],
        [[d, op.level, pct(mean), n(k), n(bad)] for d, op, mean, k, bad in by_area(scores, rated)],
        empty="No questionnaire answers were scored, so no control area can be given an opinion.",
    )
    return Opinions(national=national, criteria=CRITERIA, by_body=by_body, by_area=areas)
