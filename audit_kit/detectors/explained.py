"""Explained access (Fabbri & LeFevre): an access is explained when the data links the user to the child.

An access to a child's record is explained by, in order: an involvement of the user's organisation
with the child active at the time (ending no more than the lingering grace period before), a role or
organisation type the config entitles across areas (MASH, national partners), or an allow-list
(user ids, purposes such as statutory returns). Each organisation's explained-access rate is the
share of its window accesses that are explained; the unexplained rest is where reviewers look.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import ibis

from audit_kit.detectors.context import WINDOW, DetectionContext

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from audit_kit.config import AuditConfig
    from audit_kit.engine.base import Engine
    from audit_kit.store.workspace import Workspace

COLUMNS = ["org_id", "accesses", "explained", "by_involvement", "by_entitlement", "by_allow_list", "rate",
           "records", "unexplained_records"]


def explained_rates_expr(ctx: DetectionContext) -> ir.Table:
    """Per organisation, window accesses and how many are explained (and by what), as an Ibis expression."""
    w = ctx.user_record_x(WINDOW)
    agg = w.group_by(w.org_id).aggregate(
        accesses=w.n.sum(),
        explained=w.n.sum(where=w.explained).fill_null(0),
        by_involvement=w.n.sum(where=w.involved).fill_null(0),
        by_entitlement=w.n.sum(where=~w.involved & w.entitled).fill_null(0),
        by_allow_list=w.n.sum(where=~w.involved & ~w.entitled & w.allowed).fill_null(0),
        records=w.record_id.nunique(),
        unexplained_records=w.record_id.nunique(where=~w.explained),
    )
    return agg.mutate(rate=(agg.explained / agg.accesses.nullif(0)).fill_null(1.0))


def rates_for_context(ctx: DetectionContext) -> pd.DataFrame:
    """Per-organisation explained-access rates of the context's window (columns: COLUMNS)."""
    return explained_rates_expr(ctx).select(*COLUMNS).order_by("org_id").to_pandas()


def explained_access_rates(
    ws: Workspace, config: AuditConfig, since: datetime | None = None, until: datetime | None = None,
    org_id: str | None = None, engine: Engine | None = None,
) -> pd.DataFrame:
    """Each organisation's explained-access rate over [since, until) (default: the last 14 days of data).

    Returns a DataFrame with columns org_id, accesses, explained, by_involvement, by_entitlement,
    by_allow_list, rate (0–1), records, unexplained_records. Task F's NTK-02 corroboration uses this.
    `engine` as for `run_detectors` (default DuckDB over `ws`).
    """
    ctx = DetectionContext.build(ws, config, since, until, engine=engine)
    try:
        expr = explained_rates_expr(ctx)
        if org_id is not None:
            expr = expr.filter(expr.org_id == ibis.literal(org_id))
        return expr.select(*COLUMNS).order_by("org_id").to_pandas()
    finally:
        ctx.cleanup()
