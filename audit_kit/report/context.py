"""Build the report view models from the workspace, the assessment, the scores and the graphs.

Every choice a template would otherwise make lives here: what each audience may see, how an empty
section is worded, number and date formats, sort orders. Public reports carry aggregates only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from audit_kit import __version__
from audit_kit.models.findings import Severity
from audit_kit.report import charts, sources
from audit_kit.report.models import (
    PROTECTIVE_MARKING,
    PUBLIC_MARKING,
    Audience,
    Coverage,
    Figure,
    FindingView,
    KeyValue,
    Meta,
    NationalReport,
    OrgAnnex,
    OrgPack,
    Table,
)
from audit_kit.report.sources import ControlOutcome, CoverageData, OrgScoreData
from audit_kit.store.workspace import Workspace

SEVERITIES = [s.value for s in sorted(Severity, key=lambda s: -s.rank)]
OUTCOME_COLOURS = {
    "achieved": "#2e7d32",
    "partial": "#f9a825",
    "not achieved": "#c62828",
    "not answered": "#b0bec5",
    "not scored": "#e0e0e0",
}
TIER_NAMES = {
    1: "Tier 1 — act now",
    2: "Tier 2 — act this quarter",
    3: "Tier 3 — improve",
    4: "Tier 4 — routine monitoring",
}
CAF_OBJECTIVES = {
    "A": "A — Managing security risk",
    "B": "B — Protecting against cyber attack",
    "C": "C — Detecting cyber security events",
    "D": "D — Minimising the impact of incidents",
    "E": "E — Using and sharing information appropriately",
}
ISO_THEMES = {"5": "5 — Organisational", "6": "6 — People", "7": "7 — Physical", "8": "8 — Technological"}
MAX_FINDINGS_NATIONAL = 40
MAX_FINDINGS_PACK = 30
MAX_REGISTER_ROWS = 150


# -- formatting -------------------------------------------------------------------------------------
def n(value: int | float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def period_text(start: date | datetime | None, end: date | datetime | None) -> str:
    if start is None or end is None:
        return "no events in the workspace"
    return f"{day(start)} to {day(end)}"


def _level(value: Any) -> str:
    return "—" if value is None else str(getattr(value, "value", value))


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (plural or word + 's')}"


def _evidence(evidence: dict[str, Any], restricted: bool) -> list[KeyValue]:
    """Evidence as short label/value pairs; nested values flattened, long lists cut."""
    out = []
    for key, value in list(evidence.items())[:12]:
        if not restricted and key.lower() in {"user_id", "users", "record_ids", "records", "record_id"}:
            continue
        if isinstance(value, dict):
            text = ", ".join(f"{k}={_short(v)}" for k, v in list(value.items())[:8])
        elif isinstance(value, list | tuple):
            text = ", ".join(_short(v) for v in value[:6]) + (
                f" … (+{len(value) - 6})" if len(value) > 6 else ""
            )
        else:
            text = _short(value)
        out.append(KeyValue(key.replace("_", " "), text[:200]))
    return out


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, dict | list):
        return str(value)[:80]
    return str(value)


# -- shared pieces ------------------------------------------------------------------------------------
def _meta(
    title: str,
    short_title: str,
    subtitle: str,
    audience: Audience,
    reviewer: str | None,
    period: str,
    subject: str,
    keywords: Sequence[str],
    today: date,
) -> Meta:
    restricted = audience is Audience.RESTRICTED
    return Meta(
        title=title,
        short_title=short_title,
        subtitle=subtitle,
        version=f"audit-kit {__version__}",
        generated_on=today.isoformat(),
        reviewer=reviewer or "Not yet signed off",
        marking=PROTECTIVE_MARKING if restricted else PUBLIC_MARKING,
        audience=(
            "Restricted: names user accounts and pseudonymised records; share only with the data holder "
            "and the organisation concerned"
            if restricted
            else "Public summary: aggregates only, no user or record identifiers"
        ),
        author=reviewer or "audit-kit",
        subject=subject,
        keywords=", ".join(keywords),
        period=period,
    )


GLOSSARY = [
    KeyValue(
        "Accessing organisation (body)",
        "A local authority, GP practice, school, NHS trust, police force or "
        "national partner whose staff read the children's records database.",
    ),
    KeyValue(
        "Corroborated / contradicted",
        "An answer the access logs support, or one they show to be untrue. "
        "A contradicted answer is scored as 'no'.",
    ),
    KeyValue(
        "Detector",
        "An automatic check of the access logs for one pattern of risky use, such as access "
        "outside working hours or to shielded children.",
    ),
    KeyValue("Finding", "One instance of a pattern a detector flagged, with the numbers that justify it."),
    KeyValue(
        "Likelihood / impact",
        "How likely harm to children's data is at a body (control gaps, "
        "contradictions, access findings), and how bad it would be (children and shielded "
        "children the body can reach, users, exports). Each on a 1–5 scale.",
    ),
    KeyValue(
        "Pseudonymised record",
        "A record shown as R- followed by a keyed hash. Only the data holder, "
        "who keeps the key, can tell which child it is.",
    ),
    KeyValue(
        "Quarantined row",
        "An input row that failed validation and was set aside with a reason rather than stored.",
    ),
    KeyValue(
        "Risk level",
        "Very Low, Low, Moderate, High or Very High, from likelihood × impact "
        "(NIST SP 800-30 / ISO 27005 style).",
    ),
    KeyValue(
        "Shielded child",
        "A child whose record has extra protection; any access should be rare and justified.",
    ),
    KeyValue("Tier", "The priority for action: 1 act now, 2 this quarter, 3 improve, 4 routine monitoring."),
    KeyValue(
        "CAF",
        "The NCSC Cyber Assessment Framework: objectives A–D, judged Achieved, Partially "
        "achieved or Not achieved.",
    ),
    KeyValue("DSPT", "The NHS Data Security and Protection Toolkit."),
]


def _coverage(cov: CoverageData, names: dict[str, str]) -> Coverage:
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
        [
            [f"{g.org_id} {names.get(g.org_id, '')}".strip(), day(g.start), day(g.end), n(g.days)]
            for g in cov.gaps
        ],
        empty=f"No body's logs fell silent for {sources.LOG_GAP_MIN_DAYS} days or more within the period.",
        nowrap=(1, 2),
    )
    quarantine = Table(
        ["Kind", "Reason", "Rows"],
        [[k, r, n(c)] for k, r, c in cov.quarantine_reasons],
        empty="No rows were quarantined: every input row was stored.",
    )
    return Coverage(facts, files, gaps, quarantine)


def _finding_view(f: sources.FindingRow, names: dict[str, str], restricted: bool) -> FindingView:
    when = (
        day(f.first_seen)
        if f.first_seen == f.last_seen or f.last_seen is None
        else (f"{day(f.first_seen)} to {day(f.last_seen)}")
    )
    return FindingView(
        detector=f.detector,
        severity=f.severity,
        org=f"{f.org_id} {names.get(f.org_id, '')}".strip(),
        user=(f.user_id or "") if restricted else "",
        records=_plural(f.record_count, "record") if f.record_count else "",
        when=when,
        summary=f.summary,
        evidence=_evidence(f.evidence, restricted),
    )


def _framework_tables(scores: dict[str, OrgScoreData]) -> list[Table]:
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
            share = 100 * cnt["Achieved"] / judged if judged else None
            rows.append(
                [
                    groups[key],
                    n(cnt["Achieved"]),
                    n(cnt["Partially achieved"]),
                    n(cnt["Not achieved"]),
                    n(cnt["Not applicable"]),
                    pct(share),
                ]
            )
        tables.append(
            Table(
                [
                    "Group",
                    "Achieved",
                    "Partially achieved",
                    "Not achieved",
                    "Not applicable",
                    "Achieved share",
                ],
                rows,
                empty="No scored questionnaire answers map to this framework.",
                caption=caption + " (outcomes of each body's requirements)",
            )
        )
    return tables


def _domain_chart(controls: Sequence[ControlOutcome], title: str) -> tuple[Any, Table]:
    by_domain: dict[str, Counter[str]] = {}
    for c in controls:
        by_domain.setdefault(c.domain, Counter())[c.status] += 1
    rows = [(d, [(k, float(cnt[k])) for k in OUTCOME_COLOURS]) for d, cnt in sorted(by_domain.items())]
    chart = charts.stacked_bars(rows, OUTCOME_COLOURS, title, "No questionnaire answers have been scored.")
    table = Table(
        ["Domain", *[k.capitalize() for k in OUTCOME_COLOURS]],
        [[d, *[n(cnt[k]) for k in OUTCOME_COLOURS]] for d, cnt in sorted(by_domain.items())],
        empty="No questionnaire answers have been scored.",
    )
    return chart, table


# -- national ------------------------------------------------------------------------------------------
def build_national(
    ws: Workspace,
    audience: Audience,
    reviewer: str | None,
    assessment: Any | None,
    scores: dict[str, OrgScoreData],
    figures: list[Figure],
    mapping: Table,
    today: date,
) -> NationalReport:
    """The national risk assessment's whole context."""
    restricted = audience is Audience.RESTRICTED
    orgs = sources.organisations(ws)
    names = {o.org_id: o.name for o in orgs}
    cov = sources.coverage(ws)
    counts = sources.finding_counts(ws)
    rated = list(assessment.orgs) if assessment is not None else []
    rated.sort(key=lambda o: (-o.likelihood * o.impact, o.tier, o.org_id))
    period = period_text(cov.period_start, cov.period_end)

    meta = _meta(
        "National risk assessment of organisations accessing children's records",
        "National risk assessment",
        "Security of accessing bodies, inappropriate access, and what each body must fix",
        audience,
        reviewer,
        period,
        subject="Risk assessment of accessing organisations: controls, access findings, risk register",
        keywords=["risk assessment", "children's records", "access audit", "CAF", "ISO 27001", "DPIA"],
        today=today,
    )

    # executive summary
    messages = _national_messages(rated, cov, counts, assessment, scores)
    high = sum(1 for o in rated if _level(o.risk_level) in ("High", "Very High"))
    summary_facts = [
        KeyValue("Bodies assessed", n(len(rated)) if rated else "none (no assessment stored)"),
        KeyValue("High or Very High risk", n(high) if rated else "—"),
        KeyValue(
            "Questionnaires received",
            n(sum(1 for o in rated if o.questionnaire_received)) if rated else n(len(scores)),
        ),
        KeyValue("Contradicted answers", n(sum(len(o.contradictions) for o in rated)) if rated else "—"),
        KeyValue("Access findings", n(counts.total)),
        KeyValue("Period of logs", period),
    ]
    tiers = Counter(o.tier for o in rated)
    tier_chart = charts.bar_chart(
        "Bodies by risk tier",
        [
            (TIER_NAMES.get(t, f"Tier {t}").split(" — ")[0], float(tiers.get(t, 0)), c)
            for t, c in zip((1, 2, 3, 4), ("#c62828", "#ef6c00", "#f9a825", "#2e7d32"), strict=True)
        ],
        empty="No risk assessment is stored, so no tiers can be shown.",
    )
    entries = [(o, e) for o in rated for e in o.register]
    entries.sort(key=lambda t: (-t[1].likelihood * t[1].impact, t[1].target_date, t[1].risk_id))
    top_risks = Table(
        ["Body", "Risk", "Level", "Treatment", "Target date"],
        [
            [f"{o.org_id} {o.name}", e.title, _level(e.risk_level), _level(e.treatment), day(e.target_date)]
            for o, e in entries[:10]
        ],
        empty="No risks are registered: "
        + (
            "no risk assessment is stored (run `audit-kit assess`)."
            if assessment is None
            else "the assessment found no body with a risk to register."
        ),
        nowrap=(4,),
    )

    # method
    method = [
        KeyValue(
            "Evidence",
            "Self-assessment questionnaires scored against the control catalogue; access logs "
            "measured to corroborate or contradict answers; detectors run over the logs.",
        ),
        KeyValue(
            "Scoring",
            "Yes 1, partial 0.5, no 0, n/a excluded; controls weighted 1–5; must-pass controls "
            "cap the outcome; a contradicted answer counts as no.",
        ),
        KeyValue(
            "Likelihood",
            "From weighted control gaps, contradicted answers and the rate of access "
            "findings per 1,000 users (1–5).",
        ),
        KeyValue(
            "Impact",
            "From the children and shielded children a body can reach, its number of users and "
            "its export capability (1–5).",
        ),
        KeyValue("Risk level", "Likelihood × impact on a 5×5 matrix (NIST SP 800-30, ISO 27005)."),
        KeyValue("Method version", str(getattr(assessment, "method_version", "—")) if assessment else "—"),
        KeyValue("Assessed at", day(getattr(assessment, "assessed_at", None))),
    ]
    scales = Table(
        ["Level", "Likelihood", "Impact"],
        [
            [
                "1 Very Low",
                "Remote: strong controls, no contradicted answers, few findings",
                "Few children reachable, no shielded children",
            ],
            ["2 Low", "Unlikely: minor gaps", "Hundreds of children, little export"],
            [
                "3 Moderate",
                "Possible: several gaps or a contradicted answer",
                "Thousands of children or some shielded",
            ],
            [
                "4 High",
                "Likely: weak controls and repeated findings",
                "Tens of thousands or many shielded children",
            ],
            [
                "5 Very High",
                "Almost certain: must-pass failures, serious findings",
                "A whole area's children, shielded children, bulk export",
            ],
        ],
    )

    cells: dict[tuple[int, int], list[str]] = {}
    for o in rated:
        cells.setdefault((o.likelihood, o.impact), []).append(o.org_id)
    heat = charts.heat_map(
        cells,
        "Bodies by likelihood and impact",
        "No risk assessment is stored, so bodies cannot be placed on the heat map.",
    )

    league = _league(orgs, rated, scores, counts)
    controls = [c for s in scores.values() for c in s.controls]
    domain_chart, _ = _domain_chart(controls, "Control outcomes by domain, all bodies")
    controls_note = (
        f"{_plural(len(scores), 'body', 'bodies')} returned a scored questionnaire"
        + (
            f"; {n(len(orgs) - len(scores))} did not and are judged from their logs alone."
            if len(orgs) > len(scores)
            else "."
        )
        if scores
        else "No questionnaires were submitted, so no control results can be shown; bodies are "
        "judged from their logs alone."
    )

    findings_facts = [
        KeyValue("Findings", n(counts.total)),
        *[KeyValue(s.capitalize(), n(counts.by_severity.get(s, 0))) for s in SEVERITIES],
    ]
    by_detector = Table(
        ["Detector", *[s.capitalize() for s in SEVERITIES], "Bodies", *(["Users"] if restricted else [])],
        [
            [d, *[n(sev.get(s, 0)) for s in SEVERITIES], n(orgs_n), *([n(users_n)] if restricted else [])]
            for d, sev, orgs_n, users_n in counts.by_detector
        ],
        empty="No access findings are stored: the detectors found nothing, or have not been run "
        "(run `audit-kit detect`).",
    )
    detectors = [d for d, *_ in counts.by_detector]
    findings_chart = charts.time_grid(
        detectors,
        counts.weeks,
        counts.by_week,
        "Findings by detector and week",
        "No access findings to chart.",
    )
    if restricted:
        shown = [_finding_view(f, names, True) for f in sources.top_findings(ws, MAX_FINDINGS_NATIONAL)]
        note = (
            (
                f"The {len(shown)} most serious of {n(counts.total)} findings, with their evidence. Record ids "
                "are pseudonymised; the organisation packs list every finding per body."
            )
            if shown
            else ("No access findings are stored.")
        )
    else:
        shown = []
        note = "Individual findings are withheld from the public summary: it carries counts only."

    # The national register keeps the risks that need the reader's attention (High and above, at most
    # MAX_REGISTER_ROWS); every body's full register is on its annex page and in its pack.
    serious = [(o, e) for o, e in entries if _level(e.risk_level) in ("High", "Very High")]
    register = Table(
        ["Risk", "Body", "Title", "L", "I", "Level", "Treatment", "Owner", "Target", "Residual"],
        [
            [
                e.risk_id,
                o.org_id,
                e.title,
                str(e.likelihood),
                str(e.impact),
                _level(e.risk_level),
                _level(e.treatment),
                e.owner,
                day(e.target_date),
                _level(e.residual_risk_level),
            ]
            for o, e in serious[:MAX_REGISTER_ROWS]
        ],
        empty=top_risks.empty if not entries else "No registered risk is rated High or Very High.",
        caption=(
            f"{n(min(len(serious), MAX_REGISTER_ROWS))} of {n(len(serious))} High and Very High risks, "
            f"of {n(len(entries))} registered in all; each body's full register is in its annex"
        )
        if entries
        else "",
        nowrap=(1, 8),
    )
    annexes = [
        _annex(
            o,
            next((a for a in rated if a.org_id == o.org_id), None),
            scores.get(o.org_id),
            counts.by_org.get(o.org_id, {}),
            restricted,
        )
        for o in orgs
    ]

    return NationalReport(
        meta=meta,
        restricted=restricted,
        key_messages=messages,
        summary_facts=summary_facts,
        top_risks=top_risks,
        coverage=_coverage(cov, names),
        method=method,
        scales=scales,
        tier_chart=tier_chart,
        heat_map=heat,
        league=league,
        controls_note=controls_note,
        framework_tables=_framework_tables(scores),
        domain_chart=domain_chart,
        findings_facts=findings_facts,
        findings_by_detector=by_detector,
        findings_chart=findings_chart,
        findings=shown,
        findings_note=note,
        figures=figures,
        register=register,
        annexes=annexes,
        mapping=mapping,
        glossary=GLOSSARY,
    )


def _national_messages(
    rated: list[Any],
    cov: CoverageData,
    counts: sources.FindingCounts,
    assessment: Any | None,
    scores: dict[str, OrgScoreData],
) -> list[str]:
    msgs = []
    if assessment is None:
        msgs.append(
            "No risk assessment is stored in this workspace, so bodies are not yet rated; run "
            "`audit-kit assess` and render this report again."
        )
    else:
        high = [o for o in rated if _level(o.risk_level) in ("High", "Very High")]
        tier1 = [o for o in rated if o.tier == 1]
        msgs.append(
            f"{len(high)} of {_plural(len(rated), 'body', 'bodies')} are rated High or Very High risk"
            + (
                f"; {len(tier1)} {'needs' if len(tier1) == 1 else 'need'} action now: "
                f"{', '.join(o.org_id for o in tier1[:8])}" + (" and others" if len(tier1) > 8 else "") + "."
                if tier1
                else "."
            )
        )
        contradicted = [o for o in rated if o.contradictions]
        if contradicted:
            total = sum(len(o.contradictions) for o in contradicted)
            msgs.append(
                f"The logs contradict {_plural(total, 'questionnaire answer')} from "
                f"{_plural(len(contradicted), 'body', 'bodies')}: "
                + (
                    "this body told us its controls were"
                    if len(contradicted) == 1
                    else "these bodies told us their controls were"
                )
                + " stronger than their logs show."
            )
        logs_only = [o for o in rated if o.logs_only]
        if logs_only:
            msgs.append(
                f"{_plural(len(logs_only), 'body', 'bodies')} sent no questionnaire and "
                f"{'was' if len(logs_only) == 1 else 'were'} rated from logs alone."
            )
    if counts.total:
        top = max(counts.by_detector, key=lambda t: sum(t[1].values()))
        serious = counts.by_severity.get("high", 0) + counts.by_severity.get("critical", 0)
        msgs.append(
            f"The detectors raised {_plural(counts.total, 'access finding')}, {n(serious)} of them high "
            f"or critical; the most frequent pattern is {top[0].replace('_', ' ')} "
            f"({n(sum(top[1].values()))})."
        )
    else:
        msgs.append(
            "No access findings are stored: either the detectors found nothing or they have not been run."
        )
    if not scores and not any(o.questionnaire_received for o in rated):
        msgs.append("No questionnaires were submitted, so control results come from the logs alone.")
    gap_orgs = sorted({g.org_id for g in cov.gaps})
    if gap_orgs or cov.silent_orgs:
        msgs.append(
            f"Logs are incomplete for {_plural(len(set(gap_orgs) | set(cov.silent_orgs)), 'body', 'bodies')}"
            f" (silences of {sources.LOG_GAP_MIN_DAYS}+ days or no events): what happened then cannot "
            "be checked."
        )
    if cov.quarantined:
        msgs.append(
            f"{_plural(cov.quarantined, 'input row')} failed validation and {'was' if cov.quarantined == 1 else 'were'} "
            "quarantined rather than stored; see Scope and data coverage."
        )
    return msgs


def _league(
    orgs: list[sources.OrgRow],
    rated: list[Any],
    scores: dict[str, OrgScoreData],
    counts: sources.FindingCounts,
) -> Table:
    by_id = {o.org_id: o for o in orgs}
    order = [o.org_id for o in rated] + sorted(set(by_id) - {o.org_id for o in rated})
    rows = []
    rated_by = {o.org_id: o for o in rated}
    for rank, org_id in enumerate(order, 1):
        o = by_id.get(org_id)
        a = rated_by.get(org_id)
        s = scores.get(org_id)
        sev = counts.by_org.get(org_id, {})
        overall = s.overall if s else (a.score.overall if a is not None and a.score is not None else None)
        rows.append(
            [
                str(rank),
                org_id,
                (o.name if o else a.name if a else ""),
                (o.type if o else a.type if a else "").replace("_", " "),
                pct(overall),
                str(a.likelihood) if a else "—",
                str(a.impact) if a else "—",
                _level(a.risk_level) if a else "not rated",
                str(a.tier) if a else "—",
                n(sev.get("high", 0) + sev.get("critical", 0)),
                n(len(a.contradictions)) if a else "—",
                ("logs only" if a.logs_only else "yes") if a else ("yes" if s else "no"),
            ]
        )
    return Table(
        [
            "#",
            "Body",
            "Name",
            "Type",
            "Score",
            "L",
            "I",
            "Risk",
            "Tier",
            "High+ findings",
            "Contradicted",
            "Questionnaire",
        ],
        rows,
        empty="No organisations are recorded in the workspace.",
    )


def _annex(
    org: sources.OrgRow, a: Any | None, score: OrgScoreData | None, sev: dict[str, int], restricted: bool
) -> OrgAnnex:
    facts = [
        KeyValue("Type and area", f"{org.type.replace('_', ' ')}, {org.area}"),
        KeyValue("Events / users", f"{n(org.events)} events, {n(org.users)} user accounts"),
        KeyValue(
            "Compliance score",
            (pct(score.overall) + (f" ({score.outcome})" if score.outcome else ""))
            if score
            else "no questionnaire scored",
        ),
    ]
    if a is not None:
        facts += [
            KeyValue(
                "Risk",
                f"{_level(a.risk_level)} (likelihood {a.likelihood} × impact {a.impact}), "
                f"{TIER_NAMES.get(a.tier, f'tier {a.tier}')}",
            ),
            KeyValue("Reach", f"{n(a.reach.children)} children, {n(a.reach.shielded_children)} shielded"),
        ]
    facts.append(
        KeyValue("Findings", ", ".join(f"{n(sev[s])} {s}" for s in SEVERITIES if sev.get(s)) or "none")
    )
    by_domain = score.domains if score else {}
    controls = Table(
        ["Domain", "Score"],
        [[d, pct(v)] for d, v in sorted(by_domain.items())],
        empty="No questionnaire was scored for this body.",
        caption="Control results by domain",
    )
    contradictions = list(a.contradictions) if a is not None else []
    findings = Table(
        ["Control", "Answer", "What the logs show"],
        [[c.control_id, c.claimed or "—", c.detail] for c in contradictions],
        empty="No answer was contradicted by the logs." if a is not None else "Not assessed.",
        caption="Contradicted answers",
    )
    register = Table(
        ["Risk", "Level", "Treatment", "Owner", "Target"],
        [
            [e.title, _level(e.risk_level), _level(e.treatment), e.owner, day(e.target_date)]
            for e in (a.register if a is not None else [])
        ],
        empty="No risks registered." if a is not None else "Not assessed: no risk assessment is stored.",
        caption="Risk register",
        nowrap=(4,),
    )
    note = ""
    if a is not None and a.logs_only:
        note = "No questionnaire was received: this body is rated from its logs alone."
    elif a is None:
        note = "This body has not been rated (no stored risk assessment covers it)."
    return OrgAnnex(org.org_id, org.name, facts, controls, findings, register, note)


# -- organisation pack ------------------------------------------------------------------------------
def build_org_pack(
    ws: Workspace,
    org: sources.OrgRow,
    audience: Audience,
    assessment: Any | None,
    previous: Any | None,
    score: OrgScoreData | None,
    figures: list[Figure],
    today: date,
    reviewer: str | None = None,
    counts: sources.FindingCounts | None = None,
    top: list[sources.FindingRow] | None = None,
) -> OrgPack:
    """One organisation's DPO pack.

    `counts` and `top` (its findings' counts and most serious findings) are read from the workspace
    when not given; `render_all_packs` passes them in, read for every organisation at once.
    """
    restricted = audience is Audience.RESTRICTED
    a = assessment.org(org.org_id) if assessment is not None else None
    prev = previous.org(org.org_id) if previous is not None else None
    if counts is None:
        counts = sources.finding_counts(ws, org.org_id)
    cov_start, cov_end = (
        (assessment.period.start, assessment.period.end) if assessment is not None else (None, None)
    )
    meta = _meta(
        f"Data protection pack: {org.name}",
        f"DPO pack · {org.org_id}",
        f"{org.org_id} · {org.type.replace('_', ' ')} · {org.area}",
        audience,
        reviewer,
        period_text(cov_start, cov_end) if assessment is not None else "as stored",
        subject=f"Compliance scorecard, evidence, findings and actions for {org.org_id}",
        keywords=["DPO pack", org.org_id, "children's records", "access audit"],
        today=today,
    )
    messages = []
    if a is not None:
        messages.append(
            f"{org.name} is rated {_level(a.risk_level)} risk (likelihood {a.likelihood}, impact "
            f"{a.impact}): {TIER_NAMES.get(a.tier, f'tier {a.tier}').split(' — ')[1]}."
        )
        if a.contradictions:
            messages.append(
                f"The logs contradict {_plural(len(a.contradictions), 'of your answers', 'of your answers')}"
                f" ({', '.join(c.control_id for c in a.contradictions)}); each is scored as 'no'."
            )
        if a.logs_only:
            messages.append("We received no questionnaire from you, so this rating rests on your logs alone.")
    else:
        messages.append("No risk assessment is stored for this organisation yet.")
    serious = counts.by_severity.get("high", 0) + counts.by_severity.get("critical", 0)
    messages.append(
        f"The detectors raised {_plural(counts.total, 'finding')} about your organisation"
        + (f", {n(serious)} high or critical." if counts.total else ".")
    )
    due = sorted(e.target_date for e in (a.register if a is not None else []))
    if due:
        messages.append(f"Your first action is due by {day(due[0])}.")

    scorecard = [
        KeyValue("Compliance score", pct(score.overall) if score else "no questionnaire scored"),
        KeyValue("Outcome", (score.outcome or "—") if score else "—"),
        KeyValue("Must-pass controls failed", ", ".join(score.must_pass_failed) or "none" if score else "—"),
        KeyValue("Risk level", _level(a.risk_level) if a else "not rated"),
        KeyValue("Likelihood × impact", f"{a.likelihood} × {a.impact}" if a else "—"),
        KeyValue("Tier", TIER_NAMES.get(a.tier, str(a.tier)) if a else "—"),
        KeyValue(
            "Questionnaire",
            ("received" if a.questionnaire_received else "not received")
            if a
            else ("received" if score else "not received"),
        ),
        KeyValue(
            "Children you can reach",
            f"{n(a.reach.children)} ({n(a.reach.shielded_children)} shielded)" if a else "—",
        ),
        KeyValue("Users (active)", f"{n(a.reach.users)} ({n(a.reach.active_users)})" if a else n(org.users)),
        KeyValue(
            "Findings",
            ", ".join(f"{n(counts.by_severity[s])} {s}" for s in SEVERITIES if counts.by_severity.get(s))
            or "none",
        ),
    ]
    domain_chart, domains = _domain_chart(score.controls if score else [], "Your control outcomes by domain")
    if score:
        domains = Table(
            ["Domain", "Score"],
            [[d, pct(v)] for d, v in sorted(score.domains.items())],
            empty="No domain could be scored.",
        )

    checks = {c.control_id: c for c in (a.checks if a is not None else [])}
    answer_rows = []
    for c in score.controls if score else []:
        chk = checks.pop(c.control_id, None)
        answer_rows.append(
            [
                c.control_id,
                c.title,
                c.answer or "not answered",
                chk.detail if chk else "Not testable from the logs.",
                _verdict(chk) if chk else "claimed",
            ]
        )
    for chk in checks.values():  # tested answers the scorer did not list (other catalogue)
        answer_rows.append(
            [chk.control_id, chk.control_title, chk.claimed or "not answered", chk.detail, _verdict(chk)]
        )
    verdicts = Counter(r[4] for r in answer_rows)
    answers_note = (
        f"{n(verdicts['corroborated'])} answers corroborated by your logs, {n(verdicts['contradicted'])} "
        f"contradicted, {n(verdicts['no evidence'])} without log evidence either way, "
        f"{n(verdicts['claimed'])} taken as claimed (not testable from logs)."
        if answer_rows
        else "No questionnaire was submitted, so there are no answers to test against the logs."
    )
    answers = Table(
        ["Control", "Title", "Your answer", "What the logs show", "Verdict"],
        answer_rows,
        nowrap=(0, 4),
        empty="No questionnaire answers were received.",
    )

    findings_table = Table(
        ["Detector", *[s.capitalize() for s in SEVERITIES]],
        [[d, *[n(sev.get(s, 0)) for s in SEVERITIES]] for d, sev, _o, _u in counts.by_detector],
        empty="No access findings are stored for this organisation.",
    )
    if restricted:
        names = {org.org_id: org.name}
        if top is None:
            top = sources.top_findings(ws, MAX_FINDINGS_PACK, org.org_id)
        findings = [_finding_view(f, names, True) for f in top[:MAX_FINDINGS_PACK]]
        findings_note = (
            (
                f"The {len(findings)} most serious of your {n(counts.total)} findings, with evidence. "
                "Record ids are pseudonymised: ask the data holder to resolve any you need to "
                "investigate."
            )
            if findings
            else "No access findings are stored for your organisation."
        )
    else:
        findings, findings_note = (
            [],
            "The public summary shows counts only; individual findings are withheld.",
        )

    action_rows = []
    for e in sorted(a.register if a is not None else [], key=lambda e: (e.target_date, e.risk_id)):
        # One row per action, so each reads on its own; the risk it treats and the owner repeat.
        for action in e.treatment_actions or [f"{_level(e.treatment).capitalize()} this risk."]:
            action_rows.append(
                [
                    day(e.target_date),
                    action,
                    e.title,
                    e.owner,
                    f"{_level(e.risk_level)} → {_level(e.residual_risk_level)}",
                ]
            )
    actions = Table(
        ["Due", "Action", "For the risk", "Owner", "Risk now → if done"],
        action_rows,
        empty="No actions are required of you at present."
        if a is not None
        else "No actions yet: no risk assessment is stored.",
        nowrap=(0,),
    )

    trend_rows = []
    if a is not None and prev is not None:
        trend_rows.append(["Risk level", _level(prev.risk_level), _level(a.risk_level)])
        trend_rows.append(
            ["Likelihood × impact", f"{prev.likelihood} × {prev.impact}", f"{a.likelihood} × {a.impact}"]
        )
        trend_rows.append(["Tier", str(prev.tier), str(a.tier)])
        trend_rows.append(["Contradicted answers", n(len(prev.contradictions)), n(len(a.contradictions))])
        ps = prev.score.overall if prev.score else None
        trend_rows.append(["Compliance score", pct(ps), pct(score.overall if score else None)])
        trend_rows.append(
            ["Findings", n(sum(prev.finding_counts.values())), n(sum(a.finding_counts.values()))]
        )
        trend_note = f"Compared with the assessment of {day(previous.as_of)}." if previous is not None else ""
    elif a is not None and (
        a.previous_risk_level is not None or (a.score and a.score.previous_overall is not None)
    ):
        trend_rows.append(["Risk level", _level(a.previous_risk_level), _level(a.risk_level)])
        if a.score:
            trend_rows.append(["Compliance score", pct(a.score.previous_overall), pct(a.score.overall)])
        trend_note = "Compared with your previous assessment or submission."
    elif score and score.previous_overall is not None:
        trend_rows.append(["Compliance score", pct(score.previous_overall), pct(score.overall)])
        trend_note = "Compared with your previous questionnaire submission."
    else:
        trend_note = "This is the first assessment of your organisation: trends appear from the next one."
    trend = Table(["Measure", "Last time", "Now"], trend_rows, empty="No earlier assessment to compare with.")

    return OrgPack(
        meta=meta,
        restricted=restricted,
        org_id=org.org_id,
        org_name=org.name,
        key_messages=messages,
        scorecard=scorecard,
        domain_chart=domain_chart,
        domains=domains,
        answers=answers,
        answers_note=answers_note,
        findings=findings,
        findings_table=findings_table,
        findings_note=findings_note,
        actions=actions,
        trend=trend,
        trend_note=trend_note,
        figures=figures,
        glossary=GLOSSARY,
    )


def _verdict(check: Any) -> str:
    return {"corroborated": "corroborated", "contradicted": "contradicted", "no_evidence": "no evidence"}.get(
        _level(check.status), _level(check.status)
    )
