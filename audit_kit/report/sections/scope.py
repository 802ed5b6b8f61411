"""Scope and coverage, method and scales, and control results by framework and domain."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from audit_kit.models.assessment import NationalAssessment
from audit_kit.report import charts
from audit_kit.report.format import day, n, pct, period_text
from audit_kit.report.models import Chart, Coverage, KeyValue, Table
from audit_kit.report.scores import ControlOutcome, OrgScoreData
from audit_kit.store.coverage import LOG_GAP_MIN_DAYS, CoverageData

OUTCOME_COLOURS = {
    "achieved": "#2e7d32",
    "partial": "#f9a825",
    "not achieved": "#c62828",
    "not answered": "#b0bec5",
    "not scored": "#e0e0e0",
}
CAF_OBJECTIVES = {
    "A": "A — Managing security risk",
    "B": "B — Protecting against cyber attack",
    "C": "C — Detecting cyber security events",
    "D": "D — Minimising the impact of incidents",
    "E": "E — Using and sharing information appropriately",
}
ISO_THEMES = {"5": "5 — Organisational", "6": "6 — People", "7": "7 — Physical", "8": "8 — Technological"}


def coverage(cov: CoverageData, names: dict[str, str]) -> Coverage:
    facts = [
        KeyValue("Period of logs", period_text(cov.period_start, cov.period_end)),
        KeyValue("Events stored", n(cov.events)),
        KeyValue("Organisations", n(cov.organisations)),
        KeyValue("User accounts", n(cov.users)),
        KeyValue("Children's records known", f"{n(cov.subjects)} ({n(cov.shielded)} shielded)"),
        KeyValue("Recorded involvements", n(cov.involvements)),
        KeyValue("Rows quarantined", n(cov.quarantined)),
        KeyValue("Bodies with no events at all", ", ".join(cov.silent_orgs) if cov.silent_orgs else "none"),
    ]
    files = Table(
        ["File", "Kind", "Read", "Stored", "Quarantined", "Duplicates"],
        [[f.path, f.kind, n(f.read), n(f.stored), n(f.quarantined), n(f.duplicates)] for f in cov.files],
        empty="No files have been ingested into this workspace.",
    )
    gaps = Table(
        ["Organisation", "No events from", "to", "Days"],
        [[f"{g.org_id} {names.get(g.org_id, '')}".strip(), day(g.start), day(g.end), n(g.days)] for g in cov.gaps],
        empty=f"No body's logs fell silent for {LOG_GAP_MIN_DAYS} days or more within the period.", nowrap=(1, 2),
    )
    quarantine = Table(
        ["Kind", "Reason", "Rows"], [[k, r, n(c)] for k, r, c in cov.quarantine_reasons],
        empty="No rows were quarantined: every input row was stored.",
    )
    return Coverage(facts, files, gaps, quarantine)


def method(assessment: NationalAssessment | None) -> list[KeyValue]:
    return [
        KeyValue("Evidence", "Self-assessment questionnaires scored against the control catalogue; access logs "
                             "measured to corroborate or contradict answers; detectors run over the logs."),
        KeyValue("Scoring", "Yes 1, partial 0.5, no 0, n/a excluded; controls weighted 1–5. A failed must-pass "
                            "control (such as multi-factor authentication) caps a body's score at 50%, whatever its "
                            "other answers: a body with one missing must-pass control cannot score as sound. A "
                            "contradicted answer counts as no."),
        KeyValue("Likelihood", "For each risk theme: weighted control gaps, contradicted answers and access "
                               "findings per 1,000 users (1–5), with floors: a critical finding makes likelihood at "
                               "least 4; a failed must-pass control at least 3; no questionnaire at least 3."),
        KeyValue("Impact", "The children and shielded children a body can reach, its users and export capability "
                           "(1–5)."),
        KeyValue("Risk level", "Likelihood × impact on the 5×5 matrix of NIST SP 800-30 (Table I-2). A body is rated "
                               "at its worst register entry; the heat map, league table and register use the same "
                               "matrix."),
        KeyValue("Urgency", "From severity: critical findings are contained and investigated within 7 days of issue, "
                            "high within 30; control gaps are due by their risk's level (Very High 30 days, High "
                            "90, Moderate 180, Low a year)."),
        KeyValue("Method version", assessment.method_version if assessment else "—"),
        KeyValue("Assessed at", day(assessment.assessed_at) if assessment else "—"),
    ]


SCALES = Table(
    ["Level", "Likelihood", "Impact"],
    [
        ["1 Very Low", "Remote: strong controls, no contradicted answers, few findings",
         "Few children reachable, no shielded children"],
        ["2 Low", "Unlikely: minor gaps", "Hundreds of children, little export"],
        ["3 Moderate", "Possible: several gaps, a contradicted answer, a failed must-pass control",
         "Thousands of children or some shielded"],
        ["4 High", "Likely: weak controls, repeated findings, or a critical finding",
         "Tens of thousands or many shielded children"],
        ["5 Very High", "Almost certain: widespread gaps and findings", "A whole area's children, shielded children, "
                                                                        "bulk export"],
    ],
)


def framework_tables(scores: dict[str, OrgScoreData]) -> list[Table]:
    """Requirement outcomes across all bodies, grouped by CAF objective and ISO 27001 theme."""
    tables = []
    for framework, groups, caption in (
        ("ncsc_caf", CAF_OBJECTIVES, "NCSC CAF objectives"),
        ("iso27001_2022", ISO_THEMES, "ISO/IEC 27001:2022 themes"),
    ):
        counts: dict[str, Counter[str]] = {}
        for score in scores.values():
            for ref, outcome in score.frameworks.get(framework, {}).items():
                key = ref.strip()[:1].upper()
                if key in groups:
                    counts.setdefault(key, Counter())[outcome] += 1
        rows = []
        for key in sorted(counts):
            cnt = counts[key]
            judged = cnt["Achieved"] + cnt["Partially achieved"] + cnt["Not achieved"]
            rows.append([groups[key], n(cnt["Achieved"]), n(cnt["Partially achieved"]), n(cnt["Not achieved"]),
                         n(cnt["Not applicable"]), pct(100 * cnt["Achieved"] / judged if judged else None)])
        tables.append(Table(
            ["Group", "Achieved", "Partially achieved", "Not achieved", "Not applicable", "Achieved share"], rows,
            empty="No scored questionnaire answers map to this framework.",
            caption=caption + " (outcomes of each body's requirements)",
        ))
    return tables


def domain_chart(controls: Sequence[ControlOutcome], title: str) -> tuple[Chart, Table]:
    by_domain: dict[str, Counter[str]] = {}
    for c in controls:
        by_domain.setdefault(c.domain, Counter())[c.status] += 1
    rows = [(d, [(k, float(cnt[k])) for k in OUTCOME_COLOURS]) for d, cnt in sorted(by_domain.items())]
    chart = charts.stacked_bars(rows, OUTCOME_COLOURS, title, "No questionnaire answers have been scored.")
    table = Table(
        ["Domain", *[k.capitalize() for k in OUTCOME_COLOURS]],
        [[d, *[n(cnt[k]) for k in OUTCOME_COLOURS]] for d, cnt in sorted(by_domain.items())],
        empty="",  # the chart beside it says that no answers were scored
    )
    return chart, table


def controls_note(scores: dict[str, OrgScoreData], orgs: int) -> str:
    if not scores:
        return ("No questionnaires were submitted, so no control results can be shown; bodies are judged from "
                "their logs alone.")
    capped = sum(1 for s in scores.values() if s.must_pass_failed)
    note = f"{n(len(scores))} bodies returned a scored questionnaire"
    note += f"; {n(orgs - len(scores))} did not and are judged from their logs alone." if orgs > len(scores) else "."
    if capped:
        note += (f" {n(capped)} had a must-pass control fail, so their score is capped at 50% (the score before the "
                 "cap is shown in each body's annex).")
    return note
