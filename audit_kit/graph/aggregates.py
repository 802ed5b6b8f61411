"""Engine-side building blocks (Ibis over the workspace): filtered events and involvement pairs.

Everything here stays an expression; callers aggregate further and only pull small results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit_kit.graph.window import Window
from audit_kit.store.workspace import Workspace

if TYPE_CHECKING:
    import ibis.expr.types as ir


def events_in(ws: Workspace, window: Window, successful: bool = True) -> ir.Table:
    """Events in the window that touch a record (successful ones only, by default)."""
    ev = ws.table("events")
    preds = [ev.timestamp >= window.since, ev.timestamp < window.until, ev.record_id.notnull()]
    if successful:
        preds.append(ev.outcome == "success")
    return ev.filter(*preds)


def involvement_pairs(ws: Workspace, window: Window) -> ir.Table:
    """Distinct (org_id, record_id) of involvements active at some point in the window."""
    inv = ws.table("involvements")
    since, until = window.since.date(), window.until.date()
    active = inv.filter(
        inv.start_date.isnull() | (inv.start_date <= until),
        inv.end_date.isnull() | (inv.end_date >= since),
    )
    return active.select("org_id", "record_id").distinct()


def count_rows(ws: Workspace, expr: ir.Table) -> int:
    """Row count of an expression, computed in the engine."""
    return int(expr.count().execute())
