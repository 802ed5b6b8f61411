"""Limitations of the review and good practice acknowledged, from facts.

Limitations list what the evidence could not show: how much of the period the detectors judged (the
rest was their baseline), silent logs, quarantined rows, controls the logs cannot test, bodies with no
questionnaire, what detector precision is known, active suppressions and who had access to audit-kit
(optional inputs), and that findings are indicators to investigate, not proof of misconduct.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from audit_kit.models.assessment import CheckStatus, NationalAssessment, OrgAssessment
from audit_kit.report.facts import LimitationInputs
from audit_kit.report.format import day, n, plural
from audit_kit.report.models import KeyValue, Limitations
from audit_kit.report.scores import OrgScoreData
from audit_kit.store.coverage import CoverageData
from audit_kit.store.findings import DetectionRunRecord

INDICATORS = ("Findings are indicators that an access needs explaining, not proof of misconduct: many will "
              "have a legitimate reason the logs do not record (a new case, cover for a colleague, a duty "
              "rota). No conclusion about any member of staff should be drawn before the body has "
              "investigated and recorded the outcome.")


PUBLIC_ITEMS = ("Findings are indicators", "Detection window", "Detector precision")
UNTESTABLE = KeyValue("Controls the logs cannot test", "Policies, training, physical security, contracts and incident "
                      "handling cannot be seen in access logs: bodies' answers on them are taken as given.")


def _days(start: datetime | None, end: datetime | None) -> int:
    if start is None or end is None:
        return 0
    return max(0, round((end - start).total_seconds() / 86400))


def limitations(
    assessment: NationalAssessment | None, runs: Sequence[DetectionRunRecord], cov: CoverageData | None,
    scores: dict[str, OrgScoreData], limits: LimitationInputs, orgs: Sequence[OrgAssessment] | None = None,
) -> Limitations:
    items: list[KeyValue] = [KeyValue("Findings are indicators", INDICATORS)]
    period_days = assessment.period.days if assessment else (_days(cov.period_start, cov.period_end) if cov else 0)
    if runs:
        run = runs[0]
        judged = _days(run.window_start, run.window_end)
        items.append(KeyValue(
            "Detection window",
            f"The latest detection run judged {plural(judged, 'day')} ({day(run.window_start)} to "
            f"{day(run.window_end)}) of the {plural(period_days, 'day')} of logs; the days before served as "
            "each user's and peer group's baseline. Misuse within the baseline period is not flagged and can "
            "make a user's own later misuse look normal."
            + (f" Detectors skipped: {', '.join(sorted(run.skipped))}." if run.skipped else "")
            + (f" Detectors that failed: {', '.join(sorted(run.errors))}." if run.errors else ""),
        ))
    else:
        items.append(KeyValue("Detection window", "No detection run is recorded: access findings are absent, "
                                                  "not merely few."))
    items.append(KeyValue(
        "Detector precision",
        "How many findings turn out to be legitimate has not been measured on this data. The detectors are "
        "tuned on synthetic worlds with labelled misuse; the precision reviewers record through their "
        "verdicts (audit-kit review) is the measure to trust.",
    ))
    rated = list(orgs if orgs is not None else (assessment.orgs if assessment else []))
    if rated:
        untested = sum(1 for o in rated for c in o.checks if c.status is CheckStatus.NO_EVIDENCE and c.claimed)
        answered = sum(s.controls.__len__() for s in scores.values()) if scores else 0
        tested = sum(1 for o in rated for c in o.checks if c.claimed is not None)
        items.append(KeyValue(
            "Controls the logs cannot test",
            f"Of {n(answered)} answered controls, {n(tested)} could be tested against the logs and "
            f"{n(untested)} of those found no evidence either way. Policies, training, physical security, "
            "contracts and incident handling cannot be seen in access logs: those answers are taken as given.",
        ))
        no_q = [o.org_id for o in rated if not o.questionnaire_received]
        if no_q:
            items.append(KeyValue("No questionnaire", f"{plural(len(no_q), 'body', 'bodies')} returned none and "
                                                      "are judged on their logs alone."))
    if cov is not None:
        gap_orgs = sorted({g.org_id for g in cov.gaps} | set(cov.silent_orgs))
        if gap_orgs:
            items.append(KeyValue("Silent logs", f"{plural(len(gap_orgs), 'body', 'bodies')} had days with no "
                                                 "logs at all: nothing done then can be checked."))
        if cov.quarantined:
            items.append(KeyValue("Rejected input", f"{plural(cov.quarantined, 'input row')} failed validation "
                                                    "and were set aside, not judged."))
    if limits.suppressions is None:
        items.append(KeyValue("Suppressions", "Not provided to this report: findings suppressed by reviewers (if "
                                              "any) are not listed."))
    elif limits.suppressions:
        items.append(KeyValue("Suppressions", f"{plural(len(limits.suppressions), 'suppression')} active: "
                              + "; ".join(f"{s.scope} ({s.reason}{', until ' + day(s.until) if s.until else ''})"
                                          for s in limits.suppressions[:10])))
    else:
        items.append(KeyValue("Suppressions", "None active: every finding the detectors raised is counted."))
    if limits.tool_access is None:
        items.append(KeyValue("Access to audit-kit", "Not provided to this report: who used audit-kit in the "
                                                     "period is in its own access log."))
    elif limits.tool_access:
        items.append(KeyValue("Access to audit-kit", "; ".join(
            f"{a.who} ({a.role}, {plural(a.actions, 'action')})" for a in limits.tool_access[:12])))
    else:
        items.append(KeyValue("Access to audit-kit", "No one used audit-kit in the period."))
    return Limitations(items)


def good_practice(rated: Sequence[OrgAssessment], scores: dict[str, OrgScoreData]) -> list[str]:
    """What bodies do well, from the same facts: corroborated answers, controls met everywhere."""
    out: list[str] = []
    clean = [o for o in rated if o.questionnaire_received and not o.contradictions
             and any(c.status is CheckStatus.CORROBORATED for c in o.checks)]
    if clean:
        out.append(f"{plural(len(clean), 'body', 'bodies')} answered the questionnaire with no answer contradicted "
                   "by the logs, and the logs corroborate their tested answers.")
    quiet = [o for o in rated if not any(o.finding_counts.values())]
    if quiet:
        out.append(f"{plural(len(quiet), 'body', 'bodies')} raised no access finding in the period.")
    achieved: dict[str, int] = {}
    answered: dict[str, int] = {}
    titles: dict[str, str] = {}
    for s in scores.values():
        for c in s.controls:
            if c.credit is not None:
                answered[c.control_id] = answered.get(c.control_id, 0) + 1
                titles[c.control_id] = c.title
                if c.credit >= 0.999:
                    achieved[c.control_id] = achieved.get(c.control_id, 0) + 1
    everywhere = sorted(cid for cid, k in answered.items() if k >= 3 and achieved.get(cid, 0) == k)
    if everywhere:
        shown = ", ".join(f"{cid} ({titles[cid]})" for cid in everywhere[:6])
        out.append(f"Every body that answered meets {shown}" + (" and more." if len(everywhere) > 6 else "."))
    return out
