"""The risk picture, all from one matrix: heat map, league table, register table and whole entries.

A body sits on the heat map where its rating is, and its rating is its worst register entry
(`audit_kit.assessment.register.rate_from_register`), so the heat map, league table, register and
summary cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from audit_kit.models.assessment import Factor, OrgAssessment, RiskEntry
from audit_kit.report import charts
from audit_kit.report.format import finding_ref, level, n, pct, sig
from audit_kit.report.models import Chart, EntryCard, KeyValue, Table
from audit_kit.report.scores import OrgScoreData
from audit_kit.store.coverage import OrgRow
from audit_kit.store.findings import FindingCounts

LEVEL_CSS = {"Very High": "vh", "High": "h", "Moderate": "m", "Low": "l", "Very Low": "vl"}
MAX_REGISTER_ROWS = 150


def due(issued: date, entry: RiskEntry) -> date:
    from audit_kit.assessment import risk

    days = entry.due_days if entry.due_days is not None else risk.TIER_DAYS[risk.tier(entry.risk_level)]
    return issued + timedelta(days=days)


def heat_map(rated: Sequence[OrgAssessment]) -> Chart:
    cells: dict[tuple[int, int], list[str]] = {}
    for o in rated:
        cells.setdefault((o.likelihood, o.impact), []).append(o.org_id)
    return charts.heat_map(cells, "Bodies by the likelihood and impact of their worst risk",
                           "No risk assessment is stored, so bodies cannot be placed on the heat map.")


def league(orgs: Sequence[OrgRow], rated: Sequence[OrgAssessment], scores: dict[str, OrgScoreData],
           counts: FindingCounts, opinions: dict[str, str]) -> Table:
    by_id = {o.org_id: o for o in orgs}
    rated_by = {o.org_id: o for o in rated}
    order = [o.org_id for o in rated] + sorted(set(by_id) - set(rated_by))
    rows = []
    for rank, org_id in enumerate(order, 1):
        o, a, s = by_id.get(org_id), rated_by.get(org_id), scores.get(org_id)
        sev = counts.by_org.get(org_id, {})
        overall = s.overall if s else (a.score.overall if a is not None and a.score is not None else None)
        capped = s is not None and s.raw_score is not None and s.overall is not None and s.raw_score > s.overall + 0.5
        rows.append([
            str(rank), org_id, (o.name if o else a.name if a else ""),
            (o.type if o else a.type if a else "").replace("_", " "),
            pct(overall) + (" †" if capped else ""),
            f"{a.likelihood} × {a.impact}" if a else "—",
            level(a.risk_level) if a else "not rated",
            opinions.get(org_id, "—"),
            n(sev.get("high", 0) + sev.get("critical", 0)),
            n(len(a.contradictions)) if a else "—",
            ("logs only" if a.logs_only else "yes") if a else ("yes" if s else "no"),
        ])
    return Table(
        ["#", "Body", "Name", "Type", "Score", "L × I", "Risk", "Assurance", "High+ access findings",
         "Contradicted", "Questionnaire"],
        rows, empty="No organisations are recorded in the workspace.", nowrap=(1, 5),
        caption="Ranked by the level of each body's worst register entry. † score capped at 50% because a "
                "must-pass control failed (the score before the cap is in the body's annex)",
    )


def _factors(factors: Sequence[Factor]) -> list[KeyValue]:
    out = []
    for f in factors:
        if f.name == "floor":
            out.append(KeyValue("Floor", f"at least {f.value}: {f.note}"))
            continue
        value = sig(f.value) if isinstance(f.value, float) else n(f.value) if f.value is not None else "—"
        detail = f"level {f.level}" if f.level else ""
        if f.weight:
            detail += (", " if detail else "") + f"weight {f.weight:g}"
        if f.note:
            detail += (", " if detail else "") + f.note
        out.append(KeyValue(f.name[:1].upper() + f.name[1:], f"{value}" + (f" ({detail})" if detail else "")))
    return out


def entry_card(o: OrgAssessment, e: RiskEntry, restricted: bool) -> EntryCard:
    refs = ", ".join(finding_ref(f) for f in e.findings[:12]) + (
        f" and {len(e.findings) - 12} more" if len(e.findings) > 12 else "")
    sev = ", ".join(f"{k} {s.value}" for s, k in sorted(e.finding_severity.items(), key=lambda t: -t[0].rank) if k)
    return EntryCard(
        risk_id=e.risk_id, org=f"{o.org_id} {o.name}", title=e.title, level=e.risk_level.value,
        css=LEVEL_CSS.get(e.risk_level.value, "m"),
        rating=f"likelihood {e.likelihood} × impact {e.impact} = {e.risk_level.value}; after treatment "
               f"{e.residual_likelihood} × {e.residual_impact} = {e.residual_risk_level.value}",
        statement=e.statement,
        controls=", ".join(e.controls) or "none (findings only)",
        findings=(f"{len(e.findings)} ({sev}): {refs}" if restricted else f"{len(e.findings)} ({sev})")
        if e.findings else "none",
        likelihood=_factors(e.likelihood_factors), impact=_factors(e.impact_factors),
        treatment=f"{level(e.treatment).capitalize()}; owner: {e.owner_role or 'Data Protection Officer'}",
    )


def register_table(rated: Sequence[OrgAssessment], issued: date) -> tuple[Table, list[tuple[OrgAssessment, RiskEntry]]]:
    entries = [(o, e) for o in rated for e in o.register]
    entries.sort(key=lambda t: (-t[1].risk_level.rank, -t[1].likelihood * t[1].impact, t[1].risk_id))
    serious = [(o, e) for o, e in entries if e.risk_level.rank >= 4]
    table = Table(
        ["Risk", "Title", "L × I", "Level", "Controls", "Findings", "Owner", "Due"],
        [[e.risk_id, e.title, f"{e.likelihood} × {e.impact}", e.risk_level.value, ", ".join(e.controls[:4])
          + (" …" if len(e.controls) > 4 else ""), n(len(e.findings)), e.owner_role, due(issued, e).isoformat()]
         for o, e in serious[:MAX_REGISTER_ROWS]],
        empty="No registered risk is rated High or Very High." if entries
        else "No risks are registered (no risk assessment is stored: run `audit-kit assess`).",
        caption=f"{n(min(len(serious), MAX_REGISTER_ROWS))} High and Very High risks of {n(len(entries))} "
                "registered; every entry is printed whole in the body's annex and DPO pack" if entries else "",
        nowrap=(0, 2, 7),
    )
    return table, entries


def top_risks(entries: Sequence[tuple[OrgAssessment, RiskEntry]], issued: date) -> Table:
    return Table(
        ["Body", "Risk", "Level", "Why", "Due"],
        [[f"{o.org_id} {o.name}", e.title, e.risk_level.value, e.statement.split(", because ", 1)[-1].split(
            ", resulting in")[0][:160], due(issued, e).isoformat()] for o, e in entries[:10]],
        empty="No risks are registered.", nowrap=(2, 4),
    )
