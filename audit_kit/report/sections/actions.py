"""Recommendations ranked by priority, each body's action plan, and follow-up of earlier actions.

Due dates count from the report's issue date (`--issued`, default today): an action due in 7 days is
due 7 days after the body receives the report, not 7 days after the end of the logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from audit_kit.models.actions import ActionState, ActionStatus, Priority, Recommendation
from audit_kit.models.assessment import OrgAssessment
from audit_kit.report.format import finding_ref, n, plural
from audit_kit.report.models import ActionCard, Table

PRIORITY_ORDER = (Priority.URGENT, Priority.HIGH, Priority.MEDIUM, Priority.LOW)


def due_on(issued: date, action: Recommendation) -> date:
    return issued + timedelta(days=action.due_days)


def refs(ids: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(finding_ref(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "") if ids else "—"


def recommendations(rated: Sequence[OrgAssessment], issued: date, restricted: bool) -> Table:
    """National: the bodies' actions ranked urgent → low, then by due date; each with the findings it covers."""
    rows = []
    actions = [(o, a) for o in rated for a in o.actions]
    actions.sort(key=lambda t: (-t[1].priority.rank, t[1].due_days, t[0].org_id, t[1].action_id))
    for o, a in actions:
        if a.priority.rank < Priority.HIGH.rank:
            continue  # medium and low are counted in the caption; each body's pack lists them
        rows.append([a.priority.value, due_on(issued, a).isoformat(), o.org_id, a.title,
                     refs(a.findings, 4) if restricted else n(len(a.findings)), a.owner_role.value])
    counts = {p: sum(1 for _, a in actions if a.priority is p) for p in PRIORITY_ORDER}
    return Table(
        ["Priority", "Due", "Body", "Recommendation", "Findings covered", "Owner role"],
        rows, empty="No recommendations: no body has a risk to treat, or no assessment is stored.",
        caption=(", ".join(f"{n(k)} {p.value}" for p, k in counts.items() if k)
                 + " recommendations; urgent and high are listed here, every one in the body's DPO pack")
        if actions else "",
        nowrap=(0, 1, 2),
    )


def action_plan(o: OrgAssessment, issued: date, states: Sequence[ActionState] = ()) -> list[ActionCard]:
    """A body's action plan: one card per recommendation, with its status when the body has responded."""
    latest = {s.issued.action_id: s for s in states}
    cards = []
    for a in o.actions:
        state = latest.get(a.action_id)
        status = (state.response.status.value if state and state.response else "issued, no response yet" if state
                  else "new")
        cards.append(ActionCard(
            ref=a.action_id, priority=a.priority.value, due=due_on(issued, a).isoformat(), title=a.title,
            steps=list(a.steps), findings=refs(a.findings, 12), owner=a.owner_role.value, status=status,
            breach=a.breach_prompt,
        ))
    return cards


def breach_prompts(o: OrgAssessment, issued: date) -> list[str]:
    out = []
    for a in o.actions:
        if a.breach_prompt:
            out.append(f"{a.title} (findings {refs(a.findings, 6)}): decide by "
                       f"{(issued + timedelta(days=3)).isoformat()} whether this is a personal-data breach to "
                       "report to the ICO; record the decision and its reasons either way.")
    return out


def followup(states: Sequence[ActionState], issued: date, org_id: str | None = None) -> tuple[Table, str]:
    """Earlier actions with their status; overdue ones flagged for follow-up."""
    chosen = [s for s in states if org_id is None or s.issued.org_id == org_id]
    rows = []
    overdue = 0
    for s in sorted(chosen, key=lambda s: (not s.overdue(issued), s.issued.due, s.issued.action_id)):
        r = s.response
        late = s.overdue(issued)
        overdue += late
        rows.append([s.issued.action_id, s.issued.priority.value, s.issued.due.isoformat(),
                     (r.response.value if r and r.response else "no response"),
                     (r.status.value if r else ActionStatus.NOT_STARTED.value) + (" — OVERDUE" if late else ""),
                     (r.owner_name if r and r.owner_name else "—"), (r.evidence if r and r.evidence else "—")])
    table = Table(["Action", "Priority", "Was due", "Response", "Status", "Owner", "Evidence of closure"], rows,
                  empty="No earlier action plan has been issued (audit-kit actions export records one).",
                  nowrap=(1, 2))
    note = (f"{plural(len(rows), 'action')} issued earlier; {n(overdue)} overdue and not done — these are "
            "followed up with the body's SIRO." if rows else "")
    return table, note
