"""View models: everything a page shows, computed here so the templates only loop and format.

Each builder takes the people store's read models (and review states, responses) and returns typed
rows. Nothing here opens DuckDB; nothing here decides who may see what (`app.py` does, before calling).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from audit_kit.assessment.risk import risk_level
from audit_kit.models.actions import ActionResponse, ActionStatus, ManagementResponse
from audit_kit.models.assessment import OrgAssessment, RiskLevel
from audit_kit.store import web
from audit_kit.web.review import STATE_LABELS, ReviewState

LEVELS = [lv.value for lv in RiskLevel]  # lowest first
LEVEL_CLASS = {lv.value: "lv" + str(lv.rank) for lv in RiskLevel}
SEVERITIES = ("critical", "high", "medium", "low", "info")


def width_class(value: float, most: float) -> str:
    """A CSS width class w0…w100 in steps of 5 (no inline styles: the CSP forbids them)."""
    if most <= 0:
        return "w0"
    return f"w{int(round(max(0.0, min(1.0, value / most)) * 20)) * 5}"


@dataclass(frozen=True)
class Freshness:
    """How old the data on the page is, said plainly."""

    published: bool
    published_at: str = ""
    as_of: str = ""
    period: str = ""
    note: str = ""
    stale: bool = False


def freshness(pub: web.Publication | None, now: datetime) -> Freshness:
    if pub is None:
        return Freshness(False, note="No data has been published yet: run `audit-kit assess`, then reload.")
    minutes = int((now - pub.published_at).total_seconds() // 60)
    ago = "just now" if minutes < 1 else f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"
    period = ""
    if pub.period_start and pub.period_end:
        period = f"{pub.period_start[:10]} to {pub.period_end[:10]}"
    return Freshness(True, f"{pub.published_at:%Y-%m-%d %H:%M} UTC ({ago})", pub.as_of or "", period)


# -- dashboard ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LevelBar:
    level: str
    css: str
    count: int
    width: str


@dataclass(frozen=True)
class HeatCell:
    likelihood: int
    impact: int
    count: int
    css: str
    bodies: str  # ids, for the title tooltip


@dataclass(frozen=True)
class TrendRow:
    as_of: str
    assessed_at: str
    counts: list[tuple[str, str, int]]  # (level, css, count) lowest first


@dataclass(frozen=True)
class OrgRow:
    org_id: str
    name: str
    type: str
    area: str
    level: str
    css: str
    tier: str
    li: str
    trend: str  # ↑ worse, ↓ better, = same, "" unknown
    score: str
    findings: int


@dataclass(frozen=True)
class Dashboard:
    bars: list[LevelBar]
    heat: list[list[HeatCell]]  # rows impact 5…1, columns likelihood 1…5
    trend: list[TrendRow]
    orgs: list[OrgRow]
    totals: list[tuple[str, str]]
    severity: list[tuple[str, int]]


def _trend_arrow(o: web.OrgReadModel) -> str:
    if not o.risk_level or not o.previous_risk_level:
        return ""
    now, before = LEVELS.index(o.risk_level), LEVELS.index(o.previous_risk_level)
    return "worse" if now > before else "better" if now < before else "same"


def org_row(o: web.OrgReadModel) -> OrgRow:
    return OrgRow(
        o.org_id, o.name, o.type, o.area, o.risk_level or "not rated", LEVEL_CLASS.get(o.risk_level or "", "lv0"),
        str(o.tier or ""), f"{o.likelihood} × {o.impact}" if o.likelihood else "",
        _trend_arrow(o), "" if o.score is None else f"{o.score:.0f}", o.findings)


def dashboard(pub: web.Publication | None, orgs: list[web.OrgReadModel], trend: list[web.TrendPoint]) -> Dashboard:
    counts = {lv: sum(1 for o in orgs if o.risk_level == lv) for lv in LEVELS}
    most = max(counts.values(), default=0)
    bars = [LevelBar(lv, LEVEL_CLASS[lv], counts[lv], width_class(counts[lv], most)) for lv in reversed(LEVELS)]
    heat: list[list[HeatCell]] = []
    for impact in range(5, 0, -1):
        row = []
        for likelihood in range(1, 6):
            inside = [o.org_id for o in orgs if o.likelihood == likelihood and o.impact == impact]
            row.append(HeatCell(likelihood, impact, len(inside), LEVEL_CLASS[risk_level(likelihood, impact).value],
                                ", ".join(inside[:12]) + (" …" if len(inside) > 12 else "")))
        heat.append(row)
    by_assessment: dict[str, dict[str, Any]] = {}
    for t in trend:
        entry = by_assessment.setdefault(t.assessment_id, {"as_of": t.as_of or "", "at": t.assessed_at, "n": {}})
        entry["n"][t.risk_level] = t.organisations
    trend_rows = [TrendRow(e["as_of"][:10], e["at"][:16].replace("T", " "),
                           [(lv, LEVEL_CLASS[lv], int(e["n"].get(lv, 0))) for lv in LEVELS])
                  for e in by_assessment.values()]
    totals_in = pub.totals if pub else {}
    totals = [
        ("Bodies", str(pub.organisations if pub else 0)),
        ("Questionnaires received", str(totals_in.get("questionnaires_received", 0))),
        ("Rated from logs alone", str(totals_in.get("logs_only", 0))),
        ("Answers contradicted by logs", str(totals_in.get("contradictions", 0))),
        ("Children reachable", f"{int(totals_in.get('children_reachable', 0)):,}"),
    ]
    sev = totals_in.get("findings_by_severity", {})
    return Dashboard(bars, heat, trend_rows[-8:], [org_row(o) for o in orgs], totals,
                     [(s, int(sev.get(s, 0))) for s in SEVERITIES])


# -- a body ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DomainBar:
    domain: str
    score: str
    width: str


@dataclass(frozen=True)
class AnswerRow:
    control_id: str
    title: str
    domain: str
    answer: str
    status: str
    status_css: str
    logs: str  # what the logs say (corroborated / contradicted / no evidence), or ""
    logs_css: str
    detail: str


@dataclass(frozen=True)
class RiskRow:
    """One entry of the body's risk register."""

    risk_id: str
    title: str
    statement: str
    level: str
    css: str
    treatment: str
    actions: list[str]
    owner: str
    target_date: str
    residual: str


@dataclass(frozen=True)
class PlanRow:
    """One action of the body's action plan with its latest management response."""

    action_id: str
    title: str
    priority: str
    due: str  # a date once issued, else "N days after the report"
    steps: list[str]
    risk: str  # the register entry it treats: "R3 Weak sign-in"
    owner_role: str
    breach_prompt: bool
    response: str  # agreed | partly agreed | not agreed | ""
    status: str
    status_label: str
    owner_name: str
    agreed_date: str
    evidence: str
    comment: str
    responded: str  # who, when, how


RESPONSES = tuple(r.value for r in ManagementResponse)
ACTION_STATUSES = tuple(s.value for s in ActionStatus)
# What a DPO may say of an action: "closed" is the database holder's, once it accepts the evidence.
DPO_STATUSES = tuple(s for s in ACTION_STATUSES if s != ActionStatus.CLOSED.value)
STATUS_LABELS = {"": "No response yet", **{s: s[0].upper() + s[1:] for s in ACTION_STATUSES}}


@dataclass(frozen=True)
class OrgPage:
    row: OrgRow
    rated: bool
    logs_only: bool
    overall: str
    outcome: str
    domains: list[DomainBar]
    answers: list[AnswerRow]
    register: list[RiskRow]
    plan: list[PlanRow]
    likelihood_factors: list[tuple[str, str, str]]
    impact_factors: list[tuple[str, str, str]]
    finding_counts: list[tuple[str, int]]
    must_pass_failed: list[str]


_STATUS_CSS = {"achieved": "ok", "partial": "warn", "not achieved": "bad", "not answered": "muted",
               "not scored": "muted"}
_LOGS_CSS = {"corroborated": "ok", "contradicted": "bad", "no_evidence": "muted"}


def org_page(o: web.OrgReadModel, responses: dict[str, ActionResponse],
             issued: dict[str, date] | None = None) -> OrgPage:
    """A body's page: rating, scores, answers against the logs, register and action plan with the
    latest response to each action (`responses` by action id; `issued`: due dates of issued actions)."""
    issued = issued or {}
    a = OrgAssessment.model_validate_json(o.assessment) if o.assessment else None
    s: dict[str, Any] = json.loads(o.scores) if o.scores else {}
    checks = {c.control_id: c for c in a.checks} if a else {}
    answers = []
    for c in s.get("controls", []):
        chk = checks.get(c["control_id"])
        logs = chk.status.value if chk else ""
        answers.append(AnswerRow(c["control_id"], c["title"], c["domain"], c["answer"] or "—", c["status"],
                                 _STATUS_CSS.get(c["status"], "muted"), logs.replace("_", " "),
                                 _LOGS_CSS.get(logs, ""), chk.detail if chk else ""))
    for cid, chk in checks.items():  # log-tested answers the scorer did not list (another checklist)
        if not any(r.control_id == cid for r in answers):
            answers.append(AnswerRow(cid, chk.control_title, "", chk.claimed or "—", "", "muted",
                                     chk.status.value.replace("_", " "), _LOGS_CSS.get(chk.status.value, ""),
                                     chk.detail))
    register = [RiskRow(r.risk_id, r.title, r.statement, r.risk_level.value, LEVEL_CLASS[r.risk_level.value],
                        r.treatment.value, list(r.treatment_actions), r.owner, r.target_date.isoformat(),
                        r.residual_risk_level.value) for r in (a.register if a else [])]
    plan = []
    for act in (a.actions if a else []):
        resp = responses.get(act.action_id)
        due = issued.get(act.action_id)
        status = resp.status.value if resp else ""
        how = f" ({resp.source})" if resp and resp.source else ""
        plan.append(PlanRow(
            act.action_id, act.title, act.priority.value,
            due.isoformat() if due else f"{act.due_days} days after the report", list(act.steps),
            f"{act.risk_id} {act.risk_title}", act.owner_role.value, act.breach_prompt,
            resp.response.value if resp and resp.response else "", status, STATUS_LABELS[status],
            resp.owner_name if resp else "", resp.agreed_date.isoformat() if resp and resp.agreed_date else "",
            resp.evidence if resp else "", resp.comment if resp else "",
            f"{resp.recorded_by}, {resp.recorded_at:%Y-%m-%d %H:%M}{how}" if resp and resp.recorded_at else ""))
    domains = [DomainBar(d, "—" if v is None else f"{v:.0f}", width_class(v or 0, 100))
               for d, v in sorted((s.get("domains") or {}).items())]

    def factors(items: list[Any]) -> list[tuple[str, str, str]]:
        return [(f.name.replace("_", " "), "" if f.value is None else str(f.value), str(f.level or "")) for f in items]

    overall = s.get("overall")
    return OrgPage(
        row=org_row(o), rated=a is not None, logs_only=bool(a and a.logs_only),
        overall="" if overall is None else f"{overall:.0f}", outcome=str(s.get("outcome") or ""),
        domains=domains, answers=answers, register=register, plan=plan,
        likelihood_factors=factors(a.likelihood_factors) if a else [],
        impact_factors=factors(a.impact_factors) if a else [],
        finding_counts=[(sv.value, n) for sv, n in sorted((a.finding_counts if a else {}).items(),
                                                           key=lambda kv: -kv[0].rank)],
        must_pass_failed=list(s.get("must_pass_failed") or []))


# -- findings ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FindingRow:
    finding_id: str
    severity: str
    detector: str
    org_id: str
    user_id: str
    records: int
    last_seen: str
    summary: str
    state: str
    state_label: str
    assignee: str


@dataclass(frozen=True)
class EvidenceItem:
    key: str
    value: str


@dataclass(frozen=True)
class FindingPage:
    row: FindingRow
    score: str
    first_seen: str
    evidence: list[EvidenceItem]
    history: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)  # at, by, what, state, assignee, note
    rule: str = ""  # the suppression or explanation its verdict left, in force


def finding_row(f: web.FindingReadModel, st: ReviewState | None) -> FindingRow:
    state = st.state if st else "open"
    return FindingRow(f.finding_id, f.severity, f.detector, f.org_id or "", f.user_id or "", f.record_count,
                      (f.last_seen or "")[:16].replace("T", " "), f.summary, state, STATE_LABELS[state],
                      (st.assignee or "") if st else "")


def _flatten(prefix: str, value: Any, out: list[EvidenceItem]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value[:50]):
            _flatten(f"{prefix}[{i + 1}]", v, out)
    elif isinstance(value, list):
        out.append(EvidenceItem(prefix, ", ".join(str(v) for v in value[:100])))
    elif isinstance(value, float):
        out.append(EvidenceItem(prefix, f"{value:.4g}"))
    else:
        out.append(EvidenceItem(prefix, "" if value is None else str(value)))


def finding_page(f: web.FindingReadModel, st: ReviewState | None) -> FindingPage:
    items: list[EvidenceItem] = []
    _flatten("", json.loads(f.evidence), items)
    history = [(f"{e.at:%Y-%m-%d %H:%M}", e.by, e.what, STATE_LABELS[e.state], e.assignee or "", e.note)
               for e in (st.history if st else [])]
    return FindingPage(finding_row(f, st), f"{f.score:.2f}", (f.first_seen or "")[:16].replace("T", " "), items,
                       history, st.rule if st else "")
