"""Robust baselines: a user's own history and their peer group's (organisation type + role).

`spikes()` is the shared shape behind the rate detectors (volume, bulk, exports, failed logins,
denials, searches): aggregate a metric per user and time bucket from the `user_hour` aggregate, learn
each user's and each peer group's high quantile and median/MAD from the baseline period (once per
baseline epoch: the learnt baselines are kept, `DetectionContext.learnt`), and return only the window
buckets above every bar (an absolute floor, the user's own, the peers'). The comparison runs in the
engine; only the flagged rows come back as a small pandas frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ibis
import pandas as pd

from audit_kit.detectors.context import BASELINE, WINDOW, DetectionContext
from audit_kit.detectors.evidence import corrected, numeric, strength

if TYPE_CHECKING:
    import ibis.expr.types as ir

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
            b = buckets(BASELINE)
            b = b.mutate(lv=(ibis.greatest(b.v.cast("float64"), 0.0) + 1.0).ln())
            base["b"] = ctx.materialise("spike_b", b)
        return base["b"]

    def learn_users() -> ir.Table:
        # Every user's own high quantile, median and spread, on the count and on the log scale.
        b = baseline_buckets()
        ub = b.group_by(u_user=b.user_id).aggregate(
            u_days=b.count(), u_med=b.v.median(), u_q=b.v.quantile(quantile), u_max=b.v.max(),
            u_lmed=b.lv.median(), u_mean=b.v.mean(), u_var=b.v.var(how="pop"),
        )
        # Median absolute deviation, the robust spread (a second pass over the small baseline frame).
        bm = b.join(ub, b.user_id == ub.u_user)
        umad = bm.group_by(m_user=bm.user_id).aggregate(
            u_mad=(bm.v - bm.u_med).abs().median(), u_lmad=(bm.lv - bm.u_lmed).abs().median()
        )
        j = ub.left_join(umad, ub.u_user == umad.m_user)
        return j.select("u_user", "u_days", "u_med", "u_q", "u_max", "u_lmed", "u_mean", "u_var", "u_mad", "u_lmad")

    def learn_peers() -> ir.Table:
        b = baseline_buckets()
        pb = b.group_by(p_type=b.org_type, p_role=b.role).aggregate(
            p_users=b.user_id.nunique(), p_q=b.v.quantile(quantile), p_med=b.v.median(), p_lmed=b.lv.median(),
            p_mean=b.v.mean(), p_var=b.v.var(how="pop"),
        )
        pm = b.join(pb, (b.org_type == pb.p_type) & (b.role == pb.p_role))
        pmad = pm.group_by(pm_type=pm.org_type, pm_role=pm.role).aggregate(p_lmad=(pm.lv - pm.p_lmed).abs().median())
        return pb.join(pmad, (pb.p_type == pmad.pm_type) & (pb.p_role == pmad.pm_role)).select(
            "p_type", "p_role", "p_users", "p_q", "p_med", "p_lmed", "p_lmad", "p_mean", "p_var")

    gw = ctx.materialise("spike_w", buckets(WINDOW))
    ub = ctx.learnt(f"{name}:users", learn_users)
    pb = ctx.learnt(f"{name}:peers", learn_peers)
    # How many window buckets each user had (the looks a spike test takes).
    wn = gw.group_by(n_user=gw.user_id).aggregate(w_buckets=gw.count())
    # The population's window buckets over their own bar (the user's high quantile where they have
    # history, else the peers'): the upper tail of log(value / bar) across everyone is the null.
    pop = gw.filter(gw.v > 0).left_join(ub, gw.user_id == ub.u_user).left_join(
        pb, (gw.org_type == pb.p_type) & (gw.role == pb.p_role))
    own = ibis.ifelse(pop.u_days.fill_null(0) >= min_support, pop.u_q.fill_null(0), 0)
    peers = ibis.ifelse(pop.p_users.fill_null(0) >= min_peers, pop.p_q.fill_null(0), 0)
    bar = ibis.greatest(own, peers, 1.0)
    lr = (pop.v.cast("float64") + 1.0).ln() - (bar.cast("float64") + 1.0).ln()
    pop = pop.mutate(lr=lr)
    tail = numeric(pop.aggregate(n=pop.count(), r95=pop.lr.quantile(0.95), r99=pop.lr.quantile(0.99)).to_pandas(),
                   ["n", "r95", "r99"], fill=None)
    # Only window buckets above the floor can be flagged.
    w = gw.filter(gw.v > floor)
    j = (
        w.left_join(ub, w.user_id == ub.u_user)
        .left_join(pb, (w.org_type == pb.p_type) & (w.role == pb.p_role))
        .left_join(wn, w.user_id == wn.n_user)
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
    df = out.select(
        "user_id", "org_id", "role", "org_type", "bucket", "v", "first_hour", "last_hour",
        "u_days", "u_med", "u_mad", "u_q", "u_max", "p_users", "p_q", "p_med", "threshold", "z",
        "u_lmed", "u_lmad", "p_lmed", "p_lmad", "w_buckets", "u_mean", "u_var", "p_mean", "p_var",
    ).order_by(["user_id", "bucket"]).to_pandas()
    df = numeric(df, ["v", "u_days", "u_med", "u_mad", "u_q", "u_max", "p_users", "p_q", "p_med", "threshold", "z",
                      "u_lmed", "u_lmad", "p_lmed", "p_lmad", "w_buckets", "u_mean", "u_var", "p_mean", "p_var"],
                 fill=None)
    t = tail.iloc[0]
    return spike_strength(df, float(t.n or 0), float(t.r95), float(t.r99), min_support, min_peers)


# Dispersion (negative binomial "size") used when a peer group's counts are no more variable than
# Poisson's, and the least trusted (the most overdispersed a group may look).
MAX_SIZE = 50.0
MIN_SIZE = 0.5


def nb_tail(v: float, mean: float, size: float) -> float:
    """P(X ≥ v) for a negative binomial with this mean and size (dispersion)."""
    from scipy.special import betainc

    if not (v > 0) or not (mean > 0):
        return 1.0 if not (v > 0) else 1e-12
    size = min(max(size, MIN_SIZE), MAX_SIZE)
    # P(X >= v) = I_{1-p}(v, size) with p = size / (size + mean): real-valued size allowed
    return float(betainc(math.ceil(v), size, mean / (size + mean)))


def _size(mean: float, var: float) -> float:
    if not (mean > 0) or not (var == var):
        return MAX_SIZE
    return MAX_SIZE if var <= mean else mean * mean / (var - mean)


def spike_strength(
    df: pd.DataFrame, n: float, r95: float, r99: float, min_support: int = 5, min_peers: int = 3
) -> pd.DataFrame:
    """Add `p_value` and `strength` to flagged spike rows: how improbable the value is for the user AND their peers.

    Chance model: a bucket's count is negative binomial (Poisson with overdispersion), with the
    user's own baseline mean and the peer group's dispersion (moments of their active buckets), and
    again with the peer group's mean: the value must be improbable against both (the larger tail
    probability counts), corrected for the user's window buckets. A user with little history is
    judged on the peers; with neither, a value above twice the floor is a weak signal (p = 0.01).
    """
    if df.empty:
        return df.assign(p_value=[], strength=[], excess=[])
    user_ok = df.u_days.fillna(0) >= min_support
    peer_ok = df.p_users.fillna(0) >= min_peers
    out = []
    for r, u_ok, pr_ok in zip(df.itertuples(index=False), user_ok, peer_ok, strict=True):
        size = _size(float(r.p_mean), float(r.p_var)) if pr_ok else _size(float(r.u_mean), float(r.u_var))
        pu = nb_tail(float(r.v), float(r.u_mean), size) if u_ok else 0.0
        pp = nb_tail(float(r.v), float(r.p_mean), size) if pr_ok else 0.0
        p = max(pu, pp) if (u_ok or pr_ok) else 0.01
        out.append(corrected(p, r.w_buckets if r.w_buckets == r.w_buckets else 1))
    df["p_value"] = out
    df["strength"] = [strength(x) for x in out]
    df["excess"] = 0.0
    return df


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
