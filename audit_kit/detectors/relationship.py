"""Relationship detectors: whose records a user opened, judged against why they might legitimately do so.

out_of_area, no_relationship, shielded_access, lingering_access, family_lookup, vip_snooping — all
read the shared `user_record` aggregate joined with involvements, subjects and the config's
entitlements (`DetectionContext.user_record_x`). Record ids appear only as keyed pseudonyms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from audit_kit.detectors.base import FindingBuilder, Params, ratio_score, severity_for
from audit_kit.detectors.context import BASELINE, LINGERING_GRACE_DAYS, WINDOW
from audit_kit.models.findings import Finding, Severity

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from audit_kit.detectors.context import DetectionContext


class ExcessParams(Params):
    min_records: int = 3
    alpha: float = 1e-4
    rate_alpha: float = 1e-6
    share_alpha: float = 0.05
    prior_strength: float = 30.0
    high_records: int = 10


def unexplained_excess(
    ctx: DetectionContext, det_id: str, cond: Callable[[ir.Table], ir.BooleanValue], p: ExcessParams
) -> pd.DataFrame:
    """Users whose window count of records meeting `cond` is improbably high against their baseline.

    The user's baseline share of such records is shrunk toward their peer group's share (prior of
    `prior_strength` records), the expected window count is that share × records opened, and the
    observed count is tested against a Poisson upper tail (`alpha`). Where a user's background of
    such reads is high, extra reads hide in the share; so a second test compares the count per
    active day with the baseline's (`rate_alpha`, stricter), provided the share is also up
    (`share_alpha`). Returns the flagged users.
    """
    from scipy.special import pdtrc  # Poisson upper tail; lighter to import than scipy.stats

    def per_user(period: str) -> ir.Table:
        x = ctx.without_exempt(det_id, ctx.user_record_x(period))
        # Allow-listed work (statutory returns) is out of scope: it must not dilute the baseline share.
        x = x.filter(~x.allowed)
        hit = cond(x)
        return x.group_by(x.user_id, x.org_id, x.role, x.org_type).aggregate(
            recs=x.count(), hits=x.count(where=hit), hit_accesses=x.n.sum(where=hit),
            first=x.first_ts.min(where=hit), last=x.last_ts.max(where=hit),
        )

    # The baseline shares (per user and per peer group), learnt once per baseline epoch and kept.
    def learn_users() -> ir.Table:
        b = per_user(BASELINE)
        return b.select(b_user=b.user_id, b_type=b.org_type, b_role=b.role, b_recs=b.recs, b_hits=b.hits)

    def learn_days() -> ir.Table:
        d = ctx.user_day(BASELINE)
        d = d.filter(d.n_rec > 0)
        return d.group_by(bd_user=d.user_id).aggregate(b_days=d.day.nunique())

    b = ctx.learnt(f"{det_id}:users", learn_users)
    peer = b.group_by(p_type=b.b_type, p_role=b.b_role).aggregate(p_recs=b.b_recs.sum(), p_hits=b.b_hits.sum())
    ub = b.select("b_user", "b_recs", "b_hits")
    bdays = ctx.learnt("record_days", learn_days)
    w = per_user(WINDOW)
    w = w.filter(w.hits >= p.min_records)
    uw = ctx.user_day(WINDOW)
    uw = uw.filter(uw.n_rec > 0)
    wdays = uw.group_by(d_user=uw.user_id).aggregate(w_days=uw.day.nunique())
    j = w.left_join(ub, w.user_id == ub.b_user).left_join(
        peer, (w.org_type == peer.p_type) & (w.role == peer.p_role)
    ).left_join(wdays, w.user_id == wdays.d_user).left_join(bdays, w.user_id == bdays.bd_user)
    df = j.select("user_id", "org_id", "role", "org_type", "recs", "hits", "hit_accesses", "first", "last",
                  "b_recs", "b_hits", "p_recs", "p_hits", "w_days", "b_days").to_pandas()
    if df.empty:
        return df
    # Float throughout: with no baseline at all these columns come back empty (object), which the
    # Poisson tail below cannot take.
    nums = ["b_recs", "b_hits", "p_recs", "p_hits", "w_days", "b_days"]
    df[nums] = df[nums].astype("float64").fillna(0.0)
    peer_rate = (df.p_hits + 0.5) / (df.p_recs + 1.0)
    rate = (df.b_hits + p.prior_strength * peer_rate) / (df.b_recs + p.prior_strength)
    df["expected"] = (rate * df.recs).clip(lower=0.05)
    df["user_rate"] = (df.b_hits / df.b_recs.where(df.b_recs > 0)).round(4)
    df["peer_rate"] = peer_rate.round(4)
    df["p_value"] = pdtrc(df.hits - 1, df.expected)  # P(X >= hits)
    # Rate test: matching records per active day against the baseline's (needs a real baseline).
    per_day = (df.b_hits + 0.5) / df.b_days.where(df.b_days >= 5)
    df["expected_by_rate"] = (per_day * df.w_days.clip(lower=1)).round(2)
    p_rate = pdtrc(df.hits - 1, df.expected_by_rate.fillna(float("inf")))
    df["p_rate"] = p_rate
    keep = (df.p_value < p.alpha) | ((p_rate < p.rate_alpha) & (df.p_value < p.share_alpha))
    return df[keep].reset_index(drop=True)


def _excess_findings(
    ctx: DetectionContext, det_id: str, df: pd.DataFrame, p: ExcessParams, what: str
) -> list[Finding]:
    fb = FindingBuilder(ctx, det_id)
    for r in df.itertuples(index=False):
        score = max(ratio_score(r.hits, r.expected, full_at=20), 0.3)
        sev = Severity.HIGH if r.hits >= p.high_records else severity_for(score, medium=0.0, high=0.6)
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=r.first.strftime("%G-W%V"), severity=sev, score=score,
            summary=(f"{r.user_id} ({r.role}) opened {int(r.hits)} children's records {what}, "
                     f"where about {r.expected:.1f} would be usual for them and their peers."),
            evidence={
                "records": r.hits, "accesses": r.hit_accesses, "records_opened_in_window": r.recs,
                "expected": r.expected, "p_value": float(f"{r.p_value:.3g}"),
                "active_days": {"window": r.w_days, "baseline": r.b_days},
                "expected_by_daily_rate": r.expected_by_rate, "p_value_daily_rate": float(f"{r.p_rate:.3g}"),
                "baseline": {"user_records": r.b_recs, "user_matching": r.b_hits, "user_rate": r.user_rate,
                             "peer_group": f"{r.org_type} / {r.role}", "peer_rate": r.peer_rate},
            },
            record_count=int(r.hits), first_seen=r.first, last_seen=r.last,
        )
    return fb.findings


def out_of_area(ctx: DetectionContext, p: ExcessParams) -> list[Finding]:
    """Browsing children who live outside the organisation's area, with no involvement to explain it.

    Counts window records of children whose home area differs from the organisation's, not
    explained by an involvement, a cross-area entitlement (MASH roles, national partners) or an
    allow-list, and tests the count against the user's own baseline share shrunk to their peers'.
    """
    df = unexplained_excess(ctx, "out_of_area", lambda x: x.out_of_area & ~x.explained, p)
    return _excess_findings(ctx, "out_of_area", df, p, "of children living outside their organisation's area "
                            "with no involvement to explain it")


def no_relationship(ctx: DetectionContext, p: ExcessParams) -> list[Finding]:
    """Opening records of children the organisation has no legitimate relationship with (the SCR model).

    An access is unexplained when no involvement of the user's organisation covers it, no role
    entitlement applies and no allow-list matches; a user with improbably many unexplained children
    in the window against their own and their peers' baseline is flagged.
    """
    df = unexplained_excess(ctx, "no_relationship", lambda x: ~x.explained, p)
    return _excess_findings(ctx, "no_relationship", df, p,
                            "with no involvement, entitlement or allow-list to explain it")


class ShieldedParams(Params):
    flag_explained_overrides: bool = True


def shielded_access(ctx: DetectionContext, p: ShieldedParams) -> list[Finding]:
    """Access to a shielded (restricted) child's record without a relationship to explain it, and every override.

    Unexplained access to a shielded record is high severity; a break-glass override by an
    organisation that is involved is still listed (low) so each override is seen by a reviewer.
    """
    x = ctx.without_exempt("shielded_access", ctx.user_record_x(WINDOW))
    w = x.filter(x.shielded)
    if not p.flag_explained_overrides:
        w = w.filter(~w.explained)
    else:
        w = w.filter(~w.explained | (w.n_break_glass > 0))
    w = w.mutate(pseudonym=ctx.pseudonymise_expr(w.record_id))
    df = w.select("user_id", "org_id", "role", "pseudonym", "n", "n_break_glass", "first_ts", "last_ts",
                  "explained", "involved").to_pandas()
    fb = FindingBuilder(ctx, "shielded_access")
    for r in df.itertuples(index=False):
        if r.explained:
            sev, score = Severity.LOW, 0.2
            summary = (f"{r.user_id} ({r.role}) used a break-glass override to open shielded record {r.pseudonym}; "
                       "their organisation is involved, but every override should be reviewed.")
        else:
            sev, score = Severity.HIGH, 0.8 if r.n_break_glass else 0.7
            summary = (f"{r.user_id} ({r.role}) opened shielded record {r.pseudonym} {int(r.n)} time(s) with no "
                       "involvement or entitlement to explain it.")
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=r.pseudonym, severity=sev, score=score, summary=summary,
            evidence={"record": r.pseudonym, "accesses": r.n, "break_glass_overrides": r.n_break_glass,
                      "explained": bool(r.explained), "involvement": bool(r.involved)},
            record_count=1, first_seen=r.first_ts, last_seen=r.last_ts,
        )
    return fb.findings


class LingeringParams(ExcessParams):
    grace_days: int = LINGERING_GRACE_DAYS
    alpha: float = 2e-3
    min_records: int = 3
    high_records: int = 6


def lingering_access(ctx: DetectionContext, p: LingeringParams) -> list[Finding]:
    """Opening children's records after the organisation's involvement with them ended, more than usual.

    An access counts when every involvement of the user's organisation with the child had ended more
    than `grace_days` (default 14) before it and no entitlement or allow-list explains it. Closed
    cases are sometimes read legitimately (a late report, a re-referral), so the user's count in the
    window is tested against their own baseline share shrunk to their peers' (as `no_relationship`).
    One finding per user and week, listing the pseudonymised records.
    """
    def cond(x: ir.Table) -> ir.BooleanValue:
        return x.ended & ~x.involved & ~x.entitled & ~x.allowed

    flagged = unexplained_excess(ctx, "lingering_access", cond, p)
    if flagged.empty:
        return []
    x = ctx.user_record_x(WINDOW)
    w = x.filter(cond(x), x.user_id.isin(list(flagged.user_id)))
    w = w.mutate(pseudonym=ctx.pseudonymise_expr(w.record_id),
                 days_after=(w.first_ts.date().delta(w.inv_end, unit="day")))
    recs = w.select("user_id", "pseudonym", "days_after").to_pandas().groupby("user_id")
    fb = FindingBuilder(ctx, "lingering_access")
    for r in flagged.itertuples(index=False):
        grp = recs.get_group(r.user_id)
        n_rec = len(grp)
        sev = Severity.HIGH if n_rec >= p.high_records else Severity.MEDIUM
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=r.first.strftime("%G-W%V"), severity=sev,
            score=max(ratio_score(r.hits, r.expected, full_at=20), 0.3),
            summary=(f"{r.user_id} ({r.role}) opened {n_rec} children's records a median of "
                     f"{int(grp.days_after.median())} days after their organisation's involvement ended, "
                     f"where about {r.expected:.1f} would be usual."),
            evidence={"records": sorted(grp.pseudonym), "accesses": r.hit_accesses,
                      "days_after_involvement_ended": sorted(int(d) for d in grp.days_after),
                      "grace_days": p.grace_days, "expected": r.expected, "p_value": float(f"{r.p_value:.3g}"),
                      "baseline": {"user_records": r.b_recs, "user_matching": r.b_hits, "user_rate": r.user_rate,
                                   "peer_group": f"{r.org_type} / {r.role}", "peer_rate": r.peer_rate}},
            record_count=n_rec, first_seen=r.first, last_seen=r.last,
        )
    return fb.findings


class FamilyParams(Params):
    flag_explained: bool = True


def family_lookup(ctx: DetectionContext, p: FamilyParams) -> list[Finding]:
    """A user opening the record of a child in their own household or family (matching `family_key`).

    Needs `family_key` on users and subjects (a keyed hash supplied by the data holder, so no names
    are seen). Unexplained lookups are high; ones the organisation's involvement explains are medium
    (16–43% of family flags have a simple explanation, but a conflict of interest is still one to review).
    """
    x = ctx.without_exempt("family_lookup", ctx.user_record_x(WINDOW))
    w = x.filter(x.user_family_key.notnull(), x.user_family_key == x.subject_family_key)
    if not p.flag_explained:
        w = w.filter(~w.explained)
    w = w.mutate(pseudonym=ctx.pseudonymise_expr(w.record_id))
    df = w.select("user_id", "org_id", "role", "pseudonym", "n", "first_ts", "last_ts", "explained").to_pandas()
    fb = FindingBuilder(ctx, "family_lookup")
    for r in df.itertuples(index=False):
        sev, score = (Severity.MEDIUM, 0.45) if r.explained else (Severity.HIGH, 0.85)
        why = "; their organisation is involved with the child" if r.explained else " with no involvement to explain it"
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=r.pseudonym, severity=sev, score=score,
            summary=f"{r.user_id} ({r.role}) opened record {r.pseudonym} of a child in their own family{why}.",
            evidence={"record": r.pseudonym, "accesses": r.n, "match": "family_key", "explained": bool(r.explained)},
            record_count=1, first_seen=r.first_ts, last_seen=r.last_ts,
        )
    return fb.findings


class VipParams(Params):
    min_users: int = 4
    min_orgs: int = 3
    factor: float = 4.0


def vip_snooping(ctx: DetectionContext, p: VipParams) -> list[Finding]:
    """Children suddenly read by many unrelated users across organisations (a child in the news), and who read them.

    A record is "in the news" when, in the window, at least `min_users` users from `min_orgs`
    organisations opened it without an explanation, at least `factor`× its baseline count of
    unexplained readers (scaled to the window's length). Each such unexplained reader gets a finding.
    """
    x = ctx.without_exempt("vip_snooping", ctx.user_record_x(WINDOW))
    win = x.filter(~x.explained)
    pop = win.group_by(v_record=win.record_id).aggregate(
        w_users=win.user_id.nunique(), w_orgs=win.org_id.nunique()
    )

    # The news is about unrelated readers: the record's baseline count of unexplained readers (learnt
    # once per baseline epoch and kept).
    def learn_readers() -> ir.Table:
        base = ctx.without_exempt("vip_snooping", ctx.user_record_x(BASELINE))
        base = base.filter(~base.explained)
        return base.group_by(b_record=base.record_id).aggregate(b_users=base.user_id.nunique())

    bpop = ctx.learnt("vip_snooping:readers", learn_readers)
    hot = pop.left_join(bpop, pop.v_record == bpop.b_record)
    # Baseline readership scaled to the window's length: a record read by 3 people over 8 weeks of
    # history expects under 1 in a 2-week window.
    scale = min(ctx.window_days / max(ctx.baseline_days, 1.0), 1.0)
    hot = hot.filter(
        hot.w_users >= p.min_users, hot.w_orgs >= p.min_orgs,
        hot.w_users >= hot.b_users.fill_null(0) * scale * p.factor,
    )
    j = win.join(hot, win.record_id == hot.v_record)
    j = j.mutate(pseudonym=ctx.pseudonymise_expr(j.record_id))
    df = j.select("user_id", "org_id", "role", "pseudonym", "n", "first_ts", "last_ts", "w_users", "w_orgs",
                  "b_users").to_pandas()
    fb = FindingBuilder(ctx, "vip_snooping")
    for r in df.itertuples(index=False):
        b_users = 0 if pd.isna(r.b_users) else int(r.b_users)
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=r.pseudonym, severity=Severity.HIGH,
            score=min(1.0, 0.5 + r.w_users / 100),
            summary=(f"{r.user_id} ({r.role}) opened record {r.pseudonym}, one of {int(r.w_users)} unrelated readers "
                     f"from {int(r.w_orgs)} organisations this period (usually {b_users}): a child in the news."),
            evidence={"record": r.pseudonym, "accesses": r.n, "window_unexplained_readers": r.w_users,
                      "window_organisations": r.w_orgs, "baseline_readers": b_users},
            record_count=1, first_seen=r.first_ts, last_seen=r.last_ts,
        )
    return fb.findings
