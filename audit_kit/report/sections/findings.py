"""Access findings: cards that say what happened, why it matters and what to do next; the most
serious list (severity, then strength of evidence, every kind of misuse represented); counts by kind
and by week. Contradicted answers are counted apart from access findings."""

from __future__ import annotations

from collections.abc import Sequence

from audit_kit.models.findings import Finding, Severity
from audit_kit.report import charts
from audit_kit.report.format import (
    SEVERITY_ORDER,
    WHY,
    day,
    detector_title,
    finding_ref,
    n,
    plain_evidence,
    plural,
)
from audit_kit.report.models import Chart, FindingView, KeyValue, Table
from audit_kit.store.findings import FindingCounts

NEXT = {
    Severity.CRITICAL: "Contain now: restrict the account, establish within 7 days whether each access had a "
                       "legitimate reason, and assess whether this is a personal-data breach (72 hours to "
                       "report to the ICO once aware).",
    Severity.HIGH: "Investigate within 30 days: ask the user and their manager for the reason for each access "
                   "and record the outcome.",
    Severity.MEDIUM: "Review with the user's manager when the body's themes are remediated; record the outcome.",
    Severity.LOW: "Note; no action unless it recurs.",
    Severity.INFO: "For information.",
}


def next_step(f: Finding) -> str:
    """What to do next: by severity, unless the evidence says why the finding sits where it does."""
    ev = f.evidence if isinstance(f.evidence, dict) else {}
    if f.detector == "weak_auth" and ev.get("mfa_enrolled") is False:
        # Not a bypass to chase with the user: the body's own record says a password is all they have.
        return ("Enrol the user for a second factor (the organisation records them as not enrolled), and check "
                "that the body's answer on multi-factor sign-in names the staff still to enrol.")
    held = ev.get("held_by_budget")
    if isinstance(held, dict):
        return (f"Held at low by the alert budget (it would have been {held.get('from', 'medium')}): review it "
                "once the alerts above it are dealt with.")
    return NEXT[f.severity]


def finding_view(f: Finding, names: dict[str, str], restricted: bool) -> FindingView:
    first, last = f.first_seen, f.last_seen
    when = day(first) if first is not None and (last is None or day(first) == day(last)) else (
        f"{day(first)} to {day(last)}" if first is not None else "date not recorded")
    return FindingView(
        ref=finding_ref(f.finding_id), title=detector_title(f.detector), severity=f.severity.value,
        org=f"{f.org_id} {names.get(str(f.org_id), '')}".strip(), user=(f.user_id or "") if restricted else "",
        records=plural(f.record_count, "record") if f.record_count else "", when=when, summary=f.summary,
        why=WHY.get(f.detector, ""), next=next_step(f),
        evidence=[KeyValue(k, v) for k, v in plain_evidence(f.evidence, restricted)],
    )


def facts(counts: FindingCounts, contradictions: int) -> list[KeyValue]:
    return [
        KeyValue("Access findings", n(counts.total)),
        *[KeyValue(s.capitalize(), n(counts.by_severity.get(s, 0))) for s in SEVERITY_ORDER
          if counts.by_severity.get(s)],
        KeyValue("Answers contradicted by the logs", f"{n(contradictions)} (counted apart, under controls)"),
    ]


def by_detector(counts: FindingCounts, restricted: bool) -> Table:
    sevs = [s for s in SEVERITY_ORDER if counts.by_severity.get(s)] or ["high"]
    return Table(
        ["Kind of finding", *[s.capitalize() for s in sevs], "Bodies", *(["Users"] if restricted else [])],
        [[detector_title(d), *[n(sev.get(s, 0)) for s in sevs], n(orgs_n), *([n(users_n)] if restricted else [])]
         for d, sev, orgs_n, users_n in counts.by_detector],
        empty="No access findings are stored: the detectors found nothing, or have not been run "
              "(run `audit-kit detect`).",
    )


def over_time(counts: FindingCounts) -> Chart:
    titles = {d: detector_title(d) for d, *_ in counts.by_detector}
    by_week = {(titles[d], wk): k for (d, wk), k in counts.by_week.items() if d in titles}
    chart = charts.time_grid([titles[d] for d, *_ in counts.by_detector], counts.weeks, by_week,
                             "Access findings by kind and week first seen (week starting)",
                             "No access findings to chart.")
    return chart


def undated_note(counts: FindingCounts) -> str:
    return (f"{plural(counts.undated, 'finding')} with no recorded date {'is' if counts.undated == 1 else 'are'} "
            "counted above but not plotted.") if counts.undated else ""


def most_serious(top: Sequence[Finding], names: dict[str, str], total: int) -> tuple[list[FindingView], str]:
    views = [finding_view(f, names, True) for f in top]
    kinds = len({f.detector for f in top})
    note = (f"The {len(views)} most serious of {n(total)} findings, ranked by severity and then strength of "
            f"evidence, with at most a few of each kind so that all {kinds} kinds shown are represented. Quote a "
            "finding's reference (F-…) to ask the data holder to re-identify a pseudonymised record.") if views \
        else "No access findings are stored."
    return views, note
