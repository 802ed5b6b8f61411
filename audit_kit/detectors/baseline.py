"""Robust baselines: a user's own history and their peer group's (organisation type + role).

`spikes()` is the shared shape behind the rate detectors (volume, bulk, exports, failed logins,
denials, searches): aggregate a metric per user and time bucket from the `user_hour` aggregate, learn
each user's and each peer group's high quantile and median/MAD from the baseline period (once per
baseline epoch: the learnt baselines are kept, `DetectionContext.learnt`), and return only the window
buckets above every bar (an absolute floor, the user's own, the peers'). The comparison runs in the
engine; only the flagged rows come back as a small pandas frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ibis

from audit_kit.detectors.context import BASELINE, WINDOW, DetectionContext

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

Metric = Callable[["ir.Table"], "ir.NumericValue"]
Filter = Callable[["ir.Table"], "ir.BooleanValue"]


def spikes(
    ctx: DetectionContext,
    metric: Metric,
    *,
    name: str,
    grain: str = "day",
    quantile: float = 0.99,
    floor: float = 10,
    user_factor: float = 2.0,
    peer_factor: float = 2.0,
    min_support: int = 5,
    min_peers: int = 3,
    z_min: float = 4.0,
    keep: Filter | None = None,
) -> pd.DataFrame:
    """Window buckets where `metric` exceeds the floor, the user's and the peers' baselines.

    Returns one row per flagged (user, bucket) with the value `v` and the baseline it was judged
    against: u_days, u_med, u_mad, u_q, p_users, p_q, p_med, threshold. `grain` is 'day' or 'hour'.
    A user with fewer than `min_support` baseline buckets is judged on peers and floor only; a peer
    group with fewer than `min_peers` users does not count. The user and peer baselines are learnt once
    per baseline epoch and kept (`ctx.learnt`, under `name`: the detector's id).
    """
    def buckets(period: str) -> ir.Table:
        x = ctx.user_day(period) if grain == "day" else ctx.user_hour_x(period)
        if keep is not None:
            x = x.filter(keep(x))
        bucket = x.day.cast("timestamp") if grain == "day" else x.hour
        return x.group_by(x.user_id, x.org_id, x.role, x.org_type, bucket=bucket).aggregate(
            v=metric(x), first_hour=x.first_ts.min(), last_hour=x.last_ts.max()
        )

    base: dict[str, ir.Table] = {}

    def baseline_buckets() -> ir.Table:
        if "b" not in base:
            base["b"] = ctx.materialise("spike_b", buckets(BASELINE))
        return base["b"]

    def learn_users() -> ir.Table:
        b = baseline_buckets()
        ub = b.group_by(u_user=b.user_id).aggregate(
            u_days=b.count(), u_med=b.v.median(), u_q=b.v.quantile(quantile), u_max=b.v.max()
        )
        # Median absolute deviation, the robust spread (a second pass over the small baseline frame).
        bm = b.join(ub, b.user_id == ub.u_user)
        umad = bm.group_by(m_user=bm.user_id).aggregate(u_mad=(bm.v - bm.u_med).abs().median())
        j = ub.left_join(umad, ub.u_user == umad.m_user)
        return j.select("u_user", "u_days", "u_med", "u_q", "u_max", "u_mad")

    def learn_peers() -> ir.Table:
        b = baseline_buckets()
        return b.group_by(p_type=b.org_type, p_role=b.role).aggregate(
            p_users=b.user_id.nunique(), p_q=b.v.quantile(quantile), p_med=b.v.median()
        )

    # Only window buckets above the floor can be flagged.
    w = ctx.materialise("spike_w", buckets(WINDOW))
    w = w.filter(w.v > floor)
    ub = ctx.learnt(f"{name}:users", learn_users)
    pb = ctx.learnt(f"{name}:peers", learn_peers)
    j = (
        w.left_join(ub, w.user_id == ub.u_user)
        .left_join(pb, (w.org_type == pb.p_type) & (w.role == pb.p_role))
    )
    user_ok = j.u_days.fill_null(0) >= min_support
    peer_ok = j.p_users.fill_null(0) >= min_peers
    user_bar = ibis.ifelse(user_ok, j.u_q.fill_null(0) * user_factor, 0)
    peer_bar = ibis.ifelse(peer_ok, j.p_q.fill_null(0) * peer_factor, 0)
    # With no usable history at all, demand twice the floor rather than trust nothing.
    lone = ~user_ok & ~peer_ok
    floor_bar = ibis.ifelse(lone, floor * 2, floor)
    threshold = ibis.greatest(floor_bar, user_bar, peer_bar)
    mad_sd = (j.u_mad.fill_null(0) * 1.4826).nullif(0)
    z = (j.v - j.u_med.fill_null(0)) / mad_sd
    z_ok = ~user_ok | z.isnull() | (z >= z_min)
    out = j.mutate(threshold=threshold, z=z).filter(j.v > threshold, z_ok)
    return out.select(
        "user_id", "org_id", "role", "org_type", "bucket", "v", "first_hour", "last_hour",
        "u_days", "u_med", "u_mad", "u_q", "u_max", "p_users", "p_q", "p_med", "threshold", "z",
    ).order_by(["user_id", "bucket"]).to_pandas()


def baseline_evidence(row: Any, quantile: float, unit: str) -> dict[str, object]:
    """The baseline a spike was judged against, for a finding's evidence (`row`: a pandas row)."""
    g = row.__getitem__
    return {
        "unit": unit,
        "user_baseline": {
            "active_buckets": _int(g("u_days")),
            "median": g("u_med"),
            "mad": g("u_mad"),
            f"p{int(quantile * 100)}": g("u_q"),
            "max": g("u_max"),
        },
        "peer_baseline": {
            "group": f"{g('org_type')} / {g('role')}",
            "users": _int(g("p_users")),
            f"p{int(quantile * 100)}": g("p_q"),
            "median": g("p_med"),
        },
        "threshold": g("threshold"),
    }


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0
