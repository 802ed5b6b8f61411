"""Relationship detectors: whose records a user opened, judged against why they might legitimately do so.

out_of_area, no_relationship, shielded_access, lingering_access, family_lookup, vip_snooping — all
read the shared `user_record` aggregate joined with involvements, subjects and the config's
entitlements (`DetectionContext.user_record_x`). Record ids appear only as keyed pseudonyms.

(Why this module runs past 400 lines: the detectors that judge who a child is to the reader (no relationship,
out of area, lingering, shielded, family, a child in the news) share the explained-access model and its chance
models; kept together so their explanations stay the same.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, NamedTuple

import ibis
import numpy as np
import pandas as pd

from audit_kit.detectors.base import FindingBuilder, Params
from audit_kit.detectors.context import BASELINE, LINGERING_GRACE_DAYS, WINDOW
from audit_kit.detectors.evidence import (
    CUTOFFS,
    KEPT_LOW,
    binomial_tail,
    corrected,
    evidence_fields,
    nb_tail,
    numeric,
    poisson_tail,
    score_of,
    severity_of,
    strength,
)
from audit_kit.models.findings import Finding, Severity

# Findings weaker than this (p > 0.01) are not kept at all: chance gives them to many users.
MIN_STRENGTH = 2.0
# Records of everyone's rate a peer group's own rate is shrunk toward.
PEER_PRIOR = 20.0
# Prior share of a shielded open that is a break-glass override, for a peer group with no history.
OVERRIDE_PRIOR = 0.1

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from audit_kit.detectors.context import DetectionContext


class ExcessParams(Params):
    min_records: int = 2
    rate_penalty: float = 2.0
    allowed_shift: float = 0.2
    # The daily-rate test is trusted only where the user's other work per active day is comparable: where their
    # accesses to records that do not match grew more than this many times (a census, an inspection), the weaker
    # test counts.
    volume_shift: float = 2.0
    rate_min_baseline: int = 5
    prior_strength: float = 60.0
    dispersion: float = 5.0
    colleague_explains: bool = True
    work_explains: bool = True
    # The fewest matching records chance is assumed to give a user in the window, whatever their rates;
    # 0: the rate is trusted as finely as the peer group's baseline resolves it (one in all their records).
    min_expected: float = 0.1
    # An intake week (see `unexplained_excess`): new work on such children at least this strong against the
    # user's usual, with the unexplained reads at most `intake_ratio` times that work, is kept below medium.
    intake_explains: bool = True
    intake_strength: float = 3.0
    intake_ratio: float = 2.0


def peer_pool(users: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Peer groups' baseline counts (`p_recs`, `p_hits` per org_type and role) pooled with each user counting
    at most as many records as the group's median user, and everyone's rate pooled the same way; `p_recs_all`
    is the group's records unweighted (how finely its baseline resolves a rate).

    A plain pool is the rate of the group's heaviest readers: on the independent tuning worlds one bulk
    extractor in the baseline (749 unexplained of 859 children) made a council's social workers' peer rate
    0.30 where their median was 0.11, so a worker with a clean history opening 16 unrelated children of 30
    was expected 6.8 of them by chance. Winsorised, each colleague weighs about as one: 0.13 there.
    """
    u = users[users.recs > 0]
    if u.empty:
        return pd.DataFrame(columns=["org_type", "role", "p_recs", "p_hits", "p_recs_all"]), 0.5

    keys = ["org_type", "role"]
    w = (u.groupby(keys, dropna=False).recs.transform("median") / u.recs).clip(upper=1.0)
    peers = u.assign(p_recs=u.recs * w, p_hits=u.hits * w, p_recs_all=u.recs).groupby(
        keys, dropna=False, as_index=False)[["p_recs", "p_hits", "p_recs_all"]].sum()
    w_all = (u.recs.median() / u.recs).clip(upper=1.0)
    overall = (float((u.hits * w_all).sum()) + 0.5) / (float((u.recs * w_all).sum()) + 1.0)
    return peers, overall


def unexplained_excess(
    ctx: DetectionContext, det_id: str, cond: Callable[[ir.Table], ir.BooleanValue], p: ExcessParams,
    window: Callable[[ir.Table], tuple[ir.Table, ir.BooleanValue]] | None = None,
) -> pd.DataFrame:
    """Users whose window count of records meeting `cond` is improbably high against their baseline.

    The user's baseline share of such records is shrunk toward their peer group's share (prior of
    `prior_strength` records; the group's share pooled by `peer_pool`, each colleague counting at most as
    many records as its median user); the expected window count is that share × records opened, and the
    chance of at least the observed count is a negative-binomial upper tail (a Poisson whose rate
    varies from fortnight to fortnight; size `dispersion`). Where the baseline holds at least
    `rate_min_baseline` such records on 5 or more active days, the count per active day is tested
    against the baseline's too (its strength counting `rate_penalty` less), and the stronger test
    counts — unless the share of allow-listed records moved by more than `allowed_shift` between
    the periods (a census makes most of an admin's window records allow-listed, so the share is out
    of proportion), or the user's accesses to records that do not match, per active day, grew more
    than `volume_shift` times (a census or an inspection with no purpose to allow-list it: more of the same
    mix, not a different one): then the weaker counts. With
    `colleague_explains`, a child a colleague in the same organisation and role also opened is not
    counted (a weak explanation where involvement data is incomplete); with `work_explains`, nor is
    one whose record the user wrote on. A peer group with little history leans on everyone's rate.
    `window` (optional) narrows what counts in the window: given the window's rows it returns them (with
    any columns it joined) and the condition a matching record must meet there as well; the baseline is
    still counted with `cond` alone (an upper bound of the narrower rate: a conservative chance model).
    With `intake_explains`, a window in which the user took on new work on such children (records meeting
    `cond` that they wrote on: referrals taken on a duty week) far beyond their usual (negative-binomial
    strength at least `intake_strength` against their baseline's such records per active day), and whose
    unexplained records are at most `intake_ratio` times that new work, is an intake period: the reads are
    its screening, kept below medium (`expected_work`). On the independent tuning worlds, duty weeks wrote on
    45-52% of the unrelated children they opened; every medium-or-high misuse case on 0-19%.
    Returns one row per user with at least `min_records` such records, with `p_value`, `strength`.
    """
    def per_user(x: ir.Table, narrow: Callable[[ir.Table], tuple[ir.Table, ir.BooleanValue]] | None = None) -> ir.Table:
        # Allow-listed work (statutory returns) is out of scope: it must not dilute the baseline share.
        # How much of each period it was is kept: where it changes, the share is not comparable.
        allowed_n = x.group_by(a_user=x.user_id).aggregate(all_recs=x.count(), allowed_recs=x.count(where=x.allowed))
        x = x.filter(~x.allowed)
        hit = cond(x)
        if narrow is not None:
            x, extra = narrow(x)
            hit = cond(x) & extra
        intake = hit & x.worked  # new work on such children: written on, so explained, counted apart
        if p.colleague_explains:
            hit = hit & ~x.colleague
        if p.work_explains:
            hit = hit & ~x.worked
        g = x.group_by(x.user_id, x.org_id, x.role, x.org_type).aggregate(
            recs=x.count(), hits=x.count(where=hit), hit_accesses=x.n.sum(where=hit),
            first=x.first_ts.min(where=hit), last=x.last_ts.max(where=hit), intake=x.count(where=intake),
            # the rest of the user's work, in accesses (distinct children per day fall as a period lengthens)
            other_accesses=x.n.sum(where=~hit),
        )
        return g.left_join(allowed_n, g.user_id == allowed_n.a_user).select(
            *[g[c] for c in g.columns],
            allowed_share=(allowed_n.allowed_recs / allowed_n.all_recs.nullif(0)).fill_null(0))

    def learn_users() -> ir.Table:
        # The baseline's counts as the baseline alone explains them (colleagues and work in the baseline).
        x = ctx.without_exempt(det_id, ctx.baseline_xc())
        g = per_user(x)
        return g.select("user_id", "org_id", "role", "org_type", "recs", "hits", "allowed_share", "intake",
                        "other_accesses")

    learnt = ctx.learnt(f"{det_id}:baseline_users", learn_users)
    # Baseline reads the window explains after all (a colleague read the child in the window, or the user
    # worked on it since the baseline ended) are not matching: what counting both periods at once gives.
    fl = ctx.without_exempt(det_id, ctx.baseline_flips(p.colleague_explains, p.work_explains))
    fl = fl.filter(~fl.allowed & cond(fl))
    corr = fl.group_by(c_user=fl.user_id, c_org=fl.org_id, c_role=fl.role, c_type=fl.org_type).aggregate(c_hits=fl.count())
    b = learnt.left_join(corr, (learnt.user_id == corr.c_user) & (learnt.org_id == corr.c_org)
                         & (learnt.role == corr.c_role) & (learnt.org_type == corr.c_type))
    b = b.select("user_id", "org_id", "role", "org_type", "recs", "allowed_share", "intake", "other_accesses",
                 hits=(b.hits - b.c_hits.fill_null(0)).cast("int64"))
    ub = b.select(b_user=b.user_id, b_recs=b.recs, b_hits=b.hits, b_allowed=b.allowed_share, b_intake=b.intake,
                  b_other=b.other_accesses)
    wx = ctx.without_exempt(det_id, ctx.user_record_xc())
    g = per_user(wx, window)
    w = g.filter(g.hits >= p.min_records)
    days = _active_days(ctx)
    j = w.left_join(ub, w.user_id == ub.b_user).left_join(days, w.user_id == days.d_user)
    df = j.select("user_id", "org_id", "role", "org_type", "recs", "hits", "hit_accesses", "first", "last",
                  "b_recs", "b_hits", "w_days", "b_days", "allowed_share", "b_allowed",
                  "intake", "b_intake", "other_accesses", "b_other").to_pandas()
    if df.empty:
        return df.assign(expected_work=[])
    df = numeric(df, ["recs", "hits", "hit_accesses", "b_recs", "b_hits", "w_days", "b_days",
                      "allowed_share", "b_allowed", "intake", "b_intake", "other_accesses", "b_other"])
    peers, overall = peer_pool(numeric(b.select("org_type", "role", "recs", "hits").to_pandas(), ["recs", "hits"]))
    df = df.merge(peers, how="left", on=["org_type", "role"]).fillna({"p_recs": 0.0, "p_hits": 0.0, "p_recs_all": 0.0})
    # A peer group with little history (or an account missing from users.csv) leans on everyone's rate.
    peer_rate = (df.p_hits + PEER_PRIOR * overall) / (df.p_recs + PEER_PRIOR)
    rate = (df.b_hits + p.prior_strength * peer_rate) / (df.b_recs + p.prior_strength)
    # Never fewer than `min_expected` records; with no fixed floor, a rate is known only as finely as the peer
    # group's baseline resolves it (one matching record in all of their records).
    floor = df.recs / (df.p_recs_all + PEER_PRIOR) if p.min_expected <= 0 else p.min_expected
    df["expected"] = np.maximum(rate * df.recs, floor)
    df["user_rate"] = (df.b_hits / df.b_recs.where(df.b_recs > 0)).round(4)
    df["peer_rate"] = peer_rate.round(4)
    df["p_value"] = [nb_tail(k, m, p.dispersion) for k, m in zip(df.hits, df.expected, strict=True)]
    # Rate test: matching records per active day against the baseline's (needs a real baseline).
    per_day = df.b_hits / df.b_days.where((df.b_days >= 5) & (df.b_hits >= p.rate_min_baseline))
    df["expected_by_rate"] = (per_day * df.w_days.clip(lower=1)).round(2)
    df["p_rate"] = [nb_tail(k, m, p.dispersion) if m == m else 1.0
                    for k, m in zip(df.hits, df.expected_by_rate, strict=True)]
    # Either test may carry the evidence (the daily rate one counting `rate_penalty` less), except
    # where allow-listed work changed the mix between the periods: a census that makes most of an
    # admin's window records allow-listed leaves a share out of proportion, not more unexplained
    # children a day, so there the weaker test counts.
    s_share = df.p_value.map(strength)
    s_rate = df.p_rate.map(strength)
    solid = df.expected_by_rate.notna()
    mixed = (df.allowed_share - df.b_allowed).abs() > p.allowed_shift
    # The rest of the user's work per active day (explained, or explained weakly), against the baseline's:
    # a day's census of the whole school is more work of every kind, which the share test judges.
    other_w = df.other_accesses / df.w_days.clip(lower=1)
    other_b = df.b_other / df.b_days.clip(lower=1)
    mixed = mixed | (other_w > p.volume_shift * other_b.clip(lower=1.0))
    either = np.maximum(s_share, (s_rate - p.rate_penalty).clip(lower=0))
    df["strength"] = either.where(~(solid & mixed), np.minimum(s_share, s_rate))
    df = _intake_weeks(df, p)
    df["p_final"] = 10.0 ** (-df.strength)
    return df.reset_index(drop=True)


def _intake_weeks(df: pd.DataFrame, p: ExcessParams) -> pd.DataFrame:
    """Cap below medium the users whose window is an intake period (see `unexplained_excess`)."""
    # The baseline's new work per active day (one added: a user who never took any on is not certain never to).
    expected = (df.b_intake + 1.0) / df.b_days.clip(lower=1.0) * df.w_days.clip(lower=1.0)
    df["intake_expected"] = expected.round(2)
    df["expected_work"] = ""
    if not p.intake_explains:
        return df
    s_intake = pd.Series([strength(nb_tail(k, m, p.dispersion)) for k, m in zip(df.intake, expected, strict=True)],
                         index=df.index)
    week = (df.intake > 0) & (s_intake >= p.intake_strength) & (df.hits <= p.intake_ratio * df.intake)
    if week.any():
        df.loc[week, "strength"] = df.loc[week, "strength"].clip(upper=KEPT_LOW)
        df.loc[week, "expected_work"] = "an intake period: new work on children of the same kind, far beyond usual"
    return df


def _active_days(ctx: DetectionContext) -> ir.Table:
    """Per user: local days with record accesses in the window (`w_days`) and in the baseline (`b_days`, learnt
    once per epoch and kept)."""
    def learn() -> ir.Table:
        b = ctx.user_hour_x(BASELINE)
        b = b.filter(b.n_rec > 0)
        return b.group_by(d_user=b.user_id).aggregate(b_days=b.day.nunique())

    kept = ctx.learnt("relationship:baseline_days", learn)
    w = ctx.user_hour_x(WINDOW)
    w = w.filter(w.n_rec > 0)
    w = w.group_by(d_user=w.user_id).aggregate(w_days=w.day.nunique())
    zero = ibis.literal(0, "int64")
    both = kept.select("d_user", w_days=zero, b_days=kept.b_days.cast("int64")).union(
        w.select("d_user", w_days=w.w_days.cast("int64"), b_days=zero))
    return both.group_by("d_user").aggregate(w_days=both.w_days.max(), b_days=both.b_days.max())


def _excess_findings(ctx: DetectionContext, det_id: str, df: pd.DataFrame, what: str) -> list[Finding]:
    fb = FindingBuilder(ctx, det_id)
    for r in df.itertuples(index=False):
        st = float(r.strength)
        if st < MIN_STRENGTH:
            continue
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=r.first.strftime("%G-W%V"), severity=severity_of(st),
            score=score_of(st),
            summary=(f"{r.user_id} ({r.role}) opened {int(r.hits)} children's records {what}, "
                     f"where about {r.expected:.1f} would be usual for them and their peers."),
            evidence={
                "records": r.hits, "accesses": r.hit_accesses, "records_opened_in_window": r.recs,
                "expected": r.expected, "p_value": float(f"{r.p_value:.3g}"),
                "active_days": {"window": r.w_days, "baseline": r.b_days},
                "expected_by_daily_rate": r.expected_by_rate, "p_value_daily_rate": float(f"{r.p_rate:.3g}"),
                "baseline": {"user_records": r.b_recs, "user_matching": r.b_hits, "user_rate": r.user_rate,
                             "peer_group": f"{r.org_type} / {r.role}", "peer_rate": r.peer_rate},
                # such children the user wrote on (explained, so not counted above) and the usual for the window
                "written_on": {"window": int(r.intake), "usual": float(r.intake_expected)},
                **({"expected_work": r.expected_work} if r.expected_work else {}),
                **evidence_fields(float(r.p_final), st, "negative binomial: the user's baseline share shrunk to the peer group's"),
            },
            record_count=int(r.hits), first_seen=r.first, last_seen=r.last,
        )
    return fb.findings


def out_of_area(ctx: DetectionContext, p: ExcessParams) -> list[Finding]:
    """Browsing children who live outside the organisation's area, with no involvement to explain it.

    Counts window records of children whose home area differs from the organisation's, not
    explained by an involvement, a cross-area entitlement (MASH roles, national partners), an
    allow-list or a colleague's reads of the same child, and scores the count against the user's own
    baseline share shrunk to their peers' (see `no_relationship`, whose intake periods are kept low
    here too).
    """
    df = unexplained_excess(ctx, "out_of_area", lambda x: x.out_of_area & ~x.explained, p)
    return _excess_findings(ctx, "out_of_area", df, "of children living outside their organisation's area "
                            "with no involvement to explain it")


def no_relationship(ctx: DetectionContext, p: ExcessParams) -> list[Finding]:
    """Opening records of children the organisation has no legitimate relationship with (the SCR model).

    An access is unexplained when no involvement of the user's organisation covers it, no role
    entitlement applies, no allow-list matches, (with `colleague_explains`) no colleague in the same
    organisation and role opened the child too, and (with `work_explains`) the user wrote nothing on
    the child's record (a referral taken and written up is work). The user's count of such children
    in the window is scored against their own baseline share shrunk toward their peer group's
    (negative binomial), and against their baseline count per active day; a handful more than usual
    is a weak signal (low), a count chance would almost never give is medium or high. Where the rest
    of their work per active day grew as much (more than `volume_shift` times: a census or an inspection
    with no purpose to allow-list it), the count per day says nothing of the mix: the share alone counts.
    A window of new work on such children far beyond the user's usual (records they opened and wrote on:
    referrals taken on a duty week), with no more than `intake_ratio` (2) unexplained children for each of them,
    is an intake period: its reads are the screening, kept low (`intake_explains`; on the independent tuning
    worlds duty weeks wrote on 45-52% of the unrelated children they opened, every medium-or-high misuse
    case on 0-19%).
    """
    df = unexplained_excess(ctx, "no_relationship", lambda x: ~x.explained, p)
    return _excess_findings(ctx, "no_relationship", df,
                            "with no involvement, entitlement or allow-list to explain it")


class ShieldedParams(Params):
    flag_explained_overrides: bool = True
    prior_strength: float = 200.0


def shielded_access(ctx: DetectionContext, p: ShieldedParams) -> list[Finding]:
    """Opening shielded (restricted) children's records with no relationship to explain it, scored against chance; every override listed.

    Involvement data is incomplete, so ordinary work touches a few children with no recorded
    involvement, and some of those are shielded at their base rate. For each user the number of
    distinct shielded children among the unexplained children they opened in the window is scored
    against the share their peer group's unexplained reads hit shielded children in the baseline
    (shrunk toward the share of shielded children in `subjects` with a prior of `prior_strength`
    records): a binomial tail. One such open by an in-area worker whose peers do the same is low
    (kept in the register); several across days, or any by someone whose peers never open shielded
    children, is medium or high. A break-glass override on a child the organisation is involved with
    is listed (low) so every override is seen by a reviewer.
    """
    def per_user(x: ir.Table) -> ir.Table:
        x = x.filter(~x.allowed)
        hit = ~x.explained & x.shielded
        return x.group_by(x.user_id, x.org_id, x.role, x.org_type).aggregate(
            n_unexpl=x.count(where=~x.explained), k=x.count(where=hit), k_out=x.count(where=hit & x.out_of_area),
            k_bg=x.count(where=hit & (x.n_break_glass > 0)), first=x.first_ts.min(where=hit),
            last=x.last_ts.max(where=hit),
        )

    def learn_peers() -> ir.Table:
        b = per_user(ctx.without_exempt("shielded_access", ctx.user_record_x(BASELINE)))
        return b.group_by(p_type=b.org_type, p_role=b.role).aggregate(
            p_n=b.n_unexpl.sum(), p_k=b.k.sum(), p_kbg=b.k_bg.sum(), p_users=b.user_id.nunique()
        )

    # The peers' baseline is learnt once per epoch and kept (no colleague or work enters it).
    peer = ctx.learnt("shielded_access:peers", learn_peers)
    x = ctx.without_exempt("shielded_access", ctx.user_record_x(WINDOW))
    g = per_user(x)
    x = x.filter(~x.allowed)
    hit = ~x.explained & x.shielded
    w = g.filter(g.k > 0)
    j = w.left_join(peer, (w.org_type == peer.p_type) & (w.role == peer.p_role))
    df = j.select("user_id", "org_id", "role", "org_type", "n_unexpl", "k", "k_out", "k_bg", "first", "last",
                  "p_n", "p_k", "p_kbg", "p_users").to_pandas()
    df = numeric(df, ["n_unexpl", "k", "k_out", "k_bg", "p_n", "p_k", "p_kbg", "p_users"])
    base = ctx.shielded_share()
    fb = FindingBuilder(ctx, "shielded_access")
    if not df.empty:
        recs = x.filter(x.period == WINDOW, hit, x.user_id.isin(list(df.user_id)))
        recs = recs.mutate(pseudonym=ctx.pseudonymise_expr(recs.record_id))
        rdf = recs.select("user_id", "pseudonym", "first_ts", "out_of_area").to_pandas()
        by_user = {u: grp for u, grp in rdf.groupby("user_id")}
        for r in df.itertuples(index=False):
            q = (r.p_k + p.prior_strength * base) / (r.p_n + p.prior_strength)
            n = max(r.n_unexpl, r.k)
            pv = binomial_tail(r.k, n, q)
            # Overrides: break-glass on unexplained shielded children, against the peers' habit (an
            # emergency team overrides every week; a caseworker's team never does).
            q_bg = (r.p_kbg + p.prior_strength * base * OVERRIDE_PRIOR) / (r.p_n + p.prior_strength)
            pv = min(pv, binomial_tail(r.k_bg, n, q_bg))
            st = strength(pv)
            grp = by_user.get(r.user_id)
            days = int(grp.first_ts.dt.date.nunique()) if grp is not None else 1
            records = sorted(grp.pseudonym) if grp is not None else []
            fb.add(
                # One child: the finding is about that child, whenever it recurs (one identity for the review);
                # several: the week's pattern.
                org_id=r.org_id, user_id=r.user_id, bucket=records[0] if len(records) == 1 else r.first.strftime("%G-W%V"),
                severity=severity_of(st), score=score_of(st),
                summary=(f"{r.user_id} ({r.role}) opened "
                         + (f"shielded record {records[0]}" if len(records) == 1
                            else f"{int(r.k)} shielded children's records")
                         + f" with no involvement or entitlement to explain it, on {days} day(s)"
                         + (f", {int(r.k_out)} outside their area" if r.k_out else "") + "."),
                # `record` names the child when there is one (a review verdict then covers that child only).
                evidence={**({"record": records[0]} if len(records) == 1 else {}),
                          "records": records, "shielded_records": r.k, "outside_area": r.k_out,
                          "break_glass": r.k_bg, "unexplained_records_in_window": r.n_unexpl, "days": days,
                          "baseline": {"peer_group": f"{r.org_type} / {r.role}", "peer_users": r.p_users,
                                       "peer_unexplained_records": r.p_n, "peer_unexplained_shielded": r.p_k,
                                       "shielded_share_of_children": round(base, 4),
                                       "peer_unexplained_overrides": r.p_kbg,
                                       "expected_shielded_share": round(q, 5), "expected_override_share": round(q_bg, 6)},
                          **evidence_fields(pv, st, "binomial: peers' share of shielded among unexplained children")},
                record_count=int(r.k), first_seen=r.first, last_seen=r.last,
            )
    if p.flag_explained_overrides:
        ov = x.filter(x.period == WINDOW, x.shielded, x.explained, x.n_break_glass > 0)
        odf = ov.group_by(ov.user_id, ov.org_id, ov.role).aggregate(
            k=ov.count(), first=ov.first_ts.min(), last=ov.last_ts.max()).to_pandas()
        for r in odf.itertuples(index=False):
            fb.add(
                org_id=r.org_id, user_id=r.user_id, bucket="override:" + r.first.strftime("%G-W%V"),
                severity=Severity.LOW, score=0.2,
                summary=(f"{r.user_id} ({r.role}) used a break-glass override on {int(r.k)} shielded record(s) "
                         "their organisation is involved with; every override should be reviewed."),
                evidence={"overrides": int(r.k), "explained": True,
                          **evidence_fields(1.0, 0.0, "none: listed for review, not scored")},
                record_count=int(r.k), first_seen=r.first, last_seen=r.last,
            )
    return fb.findings


class LingeringParams(ExcessParams):
    grace_days: int = LINGERING_GRACE_DAYS
    # The floor of the second look, at the user's own former cases (see `lingering_access`).
    former_min_expected: float = 0.0


def lingering_access(ctx: DetectionContext, p: LingeringParams) -> list[Finding]:
    """Opening children's records after the organisation's involvement with them ended, more than usual.

    An access counts when every involvement of the user's organisation with the child had ended more
    than `grace_days` (default 14) before it and no entitlement, allow-list, colleague's reads or the
    user's own writing on the record explain it. Closed cases are sometimes read legitimately (a late
    report, a re-referral), so the user's count in the window is scored against their own baseline
    share shrunk to their peers' (as `no_relationship`, never expecting fewer than `min_expected`).
    A second look counts only the user's **former cases**: children they opened in the baseline while
    the involvement was open, reopened weeks after it closed (the worker who cannot let a case go).
    Against the same baseline share (an upper bound: closed cases opened at all), with no fixed floor,
    the share known only as finely as the peer group's baseline resolves it: where colleagues almost
    never open closed cases, two of one's own former cases weeks after closing are improbable. The
    stronger look counts, the second corrected for being a second look (× 2). One finding per user and
    week, listing the pseudonymised records the stronger look counted.
    """
    def cond(x: ir.Table) -> ir.BooleanValue:
        return x.ended & ~x.involved & ~x.entitled & ~x.allowed

    former = _former_children(ctx)

    def own(x: ir.Table) -> tuple[ir.Table, ir.BooleanValue]:
        j = x.left_join(former, (x.user_id == former.f_user) & (x.record_id == former.f_record))
        j = j.select(*[x[c] for c in x.columns], former=j.f_user.notnull())
        return j, j.former

    looks: list[pd.DataFrame] = []
    for name, df in (
        ("closed", unexplained_excess(ctx, "lingering_access", cond, p)),
        ("former", unexplained_excess(ctx, "lingering_access", cond,
                                      p.model_copy(update={"min_expected": p.former_min_expected}), own)),
    ):
        if not df.empty:
            if name == "former":
                df = df.assign(strength=(df.strength - np.log10(2.0)).clip(lower=0))
                df = df.assign(p_final=10.0 ** (-df.strength))
            looks.append(df.assign(look=name))
    if not looks:
        return []
    both = pd.concat(looks, ignore_index=True).sort_values(["user_id", "strength"], ascending=[True, False])
    flagged = both.drop_duplicates("user_id")
    flagged = flagged[flagged.strength >= MIN_STRENGTH]
    if flagged.empty:
        return []
    x, is_former = own(ctx.user_record_xc())
    keep = cond(x) & ~x.colleague if p.colleague_explains else cond(x)
    w = x.filter(x.period == WINDOW, keep, x.user_id.isin(list(flagged.user_id)))
    w = w.mutate(pseudonym=ctx.pseudonymise_expr(w.record_id), former=is_former, worked_on=w.worked,
                 days_after=(w.first_ts.date().delta(w.inv_end, unit="day")))
    recs = w.select("user_id", "pseudonym", "days_after", "former", "worked_on").to_pandas()
    recs = numeric(recs, ["days_after"])
    groups = {u: grp for u, grp in recs.groupby("user_id")}
    fb = FindingBuilder(ctx, "lingering_access")
    for r in flagged.itertuples(index=False):
        grp = groups.get(r.user_id)
        if grp is not None and r.look == "former":
            grp = grp[grp.former.astype(bool) & ~(grp.worked_on.astype(bool) & p.work_explains)]
        if grp is None or grp.empty:
            continue
        n_rec = len(grp)
        st = float(r.strength)
        own_cases = " (their own former cases)" if r.look == "former" else ""
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=r.first.strftime("%G-W%V"), severity=severity_of(st),
            score=score_of(st),
            summary=(f"{r.user_id} ({r.role}) opened {n_rec} children's records{own_cases} a median of "
                     f"{int(grp.days_after.median())} days after their organisation's "
                     f"involvement ended, where about {r.expected:.2g} would be usual."),
            evidence={"records": sorted(grp.pseudonym), "accesses": r.hit_accesses,
                      "days_after_involvement_ended": sorted(int(d) for d in grp.days_after),
                      "grace_days": p.grace_days, "counted": "former cases" if r.look == "former" else "closed cases",
                      "expected": r.expected, "p_value": float(f"{r.p_value:.3g}"),
                      "baseline": {"user_records": r.b_recs, "user_matching": r.b_hits, "user_rate": r.user_rate,
                                   "peer_group": f"{r.org_type} / {r.role}", "peer_rate": r.peer_rate},
                      **evidence_fields(float(r.p_final), st, "negative binomial: the user's baseline share shrunk "
                                        "to the peer group's" + ("; a second look at former cases (× 2)"
                                                                  if r.look == "former" else ""))},
            record_count=n_rec, first_seen=r.first, last_seen=r.last,
        )
    return fb.findings


def _former_children(ctx: DetectionContext) -> ir.Table:
    """(f_user, f_record): children each user opened in the baseline while their organisation was involved
    with them (learnt once per baseline epoch and kept)."""
    def learn() -> ir.Table:
        b = ctx.user_record_x(BASELINE)
        b = b.filter(b.involved)
        return b.select(f_user=b.user_id, f_record=b.record_id).distinct()

    return ctx.learnt("lingering_access:former", learn)


class FamilyParams(Params):
    flag_explained: bool = True


def family_lookup(ctx: DetectionContext, p: FamilyParams) -> list[Finding]:
    """A user opening the record of a child in their own household or family (matching `family_key`).

    Needs `family_key` on users and subjects (a keyed hash supplied by the data holder, so no names
    are seen). A lookup no involvement explains is a conflict of interest whatever the baseline: a
    policy finding, high. One the organisation's involvement explains is listed low (16–43% of
    family flags have a simple explanation: the family is on the organisation's books), as is one an
    allow-listed user or purpose, or a reviewer's explanation, covers. An entitlement to read across an
    area (MASH, national partners, duty teams) explains *where* a reader may look, not why they opened
    their own family's record: it is no explanation here.
    """
    x = ctx.without_exempt("family_lookup", ctx.user_record_x(WINDOW))
    w = x.filter(x.user_family_key.notnull(), x.user_family_key == x.subject_family_key)
    w = w.mutate(explained=w.involved | w.allowed)
    if not p.flag_explained:
        w = w.filter(~w.explained)
    w = w.mutate(pseudonym=ctx.pseudonymise_expr(w.record_id))
    df = w.select("user_id", "org_id", "role", "pseudonym", "n", "first_ts", "last_ts", "involved",
                  "explained").to_pandas()
    fb = FindingBuilder(ctx, "family_lookup")
    for r in df.itertuples(index=False):
        if r.explained:
            sev, score, basis = Severity.LOW, 0.3, evidence_fields(1.0, 0.0, "none: explained, listed for review")
        else:
            sev, score = Severity.HIGH, 0.85
            basis = evidence_fields(0.0, CUTOFFS.high, "policy: an unexplained look-up of one's own family",
                                    policy=True)
        why = ("; their organisation is involved with the child" if r.involved else
               "; an allow-listed purpose or a reviewer's explanation covers it" if r.explained else
               " with no involvement to explain it")
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=r.pseudonym, severity=sev, score=score,
            summary=f"{r.user_id} ({r.role}) opened record {r.pseudonym} of a child in their own family{why}.",
            evidence={"record": r.pseudonym, "accesses": r.n, "match": "family_key", "explained": bool(r.explained),
                      **basis},
            record_count=1, first_seen=r.first_ts, last_seen=r.last_ts,
        )
    return fb.findings


class VipParams(Params):
    min_orgs: int = 3
    min_users: int = 3
    span_days: int = 3
    # A week as well: a story's readers may come over several days, and every seven-day span holds the same
    # working days (three calendar days across a weekend may hold one).
    week_days: int = 7
    hot_readers: int = 8
    recent_case_days: int = 90
    # A child opened only within a day of this many record accesses by the reader was one of a list being worked
    # through (a census return, a statutory export, an inspection's sample), not looked up: not counted.
    bulk_pass_records: int = 250
    # This many newcomer readers of the child from one body are a team working the case (its involvement missing),
    # not curiosity: that body is not counted among the child's unrelated bodies, nor its readers named (0: off).
    team_readers: int = 4


def _recent_case(x: ir.Table, days: int) -> ir.BooleanValue:
    """The reader's organisation had an involvement with the child that ended at most `days` before the read."""
    return (x.ended & (x.first_ts.date().delta(x.inv_end, unit="day") <= days)).fill_null(False)


class _ChildTest(NamedTuple):
    """One test of a child's unrelated bodies against chance (vip_snooping)."""

    pv: float
    strength: float
    lam: float
    tests: float
    k: int
    span: float
    elsewhere: bool  # counted only the bodies from outside the child's area


def vip_snooping(ctx: DetectionContext, p: VipParams) -> list[Finding]:
    """Children suddenly read by many unrelated organisations within days (a child in the news), and who read them.

    For each child, the organisations whose users opened it with no explanation and no case with it that
    closed in the last `recent_case_days` (90: news of a recent case draws its team back, a re-referral;
    `lingering_access` judges those reads), as newcomers (not readers of the child since more than a window's
    length before it: someone who has read it for weeks with no recorded involvement is most likely working
    with the child) and not only within a day's list of `bulk_pass_records` (250) or more record accesses (a
    census return or an export works through a list; the child in the news on it was not looked up), from bodies
    with fewer than `team_readers` (4) such readers of the child (more from one body are a team working the case
    whose involvement is missing; curiosity comes one or two from each of many bodies), are counted within the
    busiest day, the busiest `span_days` (3) and the busiest
    `week_days` (7; 0: off) of the window (a story's readers may come over a week, and any seven days hold
    five working days, where three calendar days across a weekend may hold one): all of them, and those from
    outside the child's area (casework the involvement data misses is mostly local; a child in the news is
    read from every area, so bodies from elsewhere are the rarer sign). By chance a child of an area gets
    about λ such organisations in the window, λ estimated from the area itself for each count (twice the
    number of children read by two unrelated organisations over those read by one, one child with two taken as
    seen: the rate at which a second body stumbles on a child), updated by the child's own baseline count of
    unrelated bodies (a gamma prior of shape 2 on the area's rate); the chance of the observed count within a
    span is a Poisson tail at λ × span / window, corrected for the children of the area and every span and
    count tested. A busy child (read by at least `hot_readers` people from more than `min_orgs` bodies in the
    window: a serious incident, a child in the news) is also judged among the busy children alone: its
    unrelated bodies against what busy children usually get (a trimmed mean), corrected for the busy children
    only. A child read by at least `min_orgs` organisations and `min_users` users gets one finding per
    unexplained reader, as strong as the best test that counted them (the count from elsewhere does not count
    the child's local readers; every test corrected for all of them): four readers from three local bodies
    over a fortnight is usually chance (low or nothing); half a dozen bodies in two days, or three from other
    areas where none usually read the area's children, is not.
    """
    x = ctx.without_exempt("vip_snooping", ctx.user_record_x(WINDOW))
    # Someone who has read the child for weeks before the window, with or without a recorded involvement,
    # is not a newcomer: where involvement data is incomplete they are most likely working with the child.
    # A child in the news draws readers who had not opened it before, so only those count as unrelated here.
    known = _known_readers(ctx)
    x = x.left_join(known, (x.record_id == known.k_record) & (x.user_id == known.k_user))
    x = x.select(*[c for c in x.columns if c not in ("k_record", "k_user", "k_seen")],
                 newcomer=x.k_seen.isnull(), recent_case=_recent_case(x, p.recent_case_days))
    x = _bulk_pass(ctx, x, p.bulk_pass_records)
    win = x.filter(~x.explained & ~x.recent_case & x.newcomer & ~x.bulk_pass)
    if p.team_readers > 0:
        teams = win.group_by(t_record=win.record_id, t_org=win.org_id).aggregate(t_users=win.user_id.nunique())
        teams = teams.filter(teams.t_users >= p.team_readers)
        win = win.anti_join(teams, (win.record_id == teams.t_record) & (win.org_id == teams.t_org))
    pop = win.group_by(v_record=win.record_id).aggregate(
        w_users=win.user_id.nunique(), w_orgs=win.org_id.nunique(), v_area=win.home_area.max(),
        w_out=win.org_id.nunique(where=win.out_of_area),
    )
    per_area = pop.group_by(a_area=pop.v_area).aggregate(
        n1=pop.count(where=pop.w_orgs == 1), n2=pop.count(where=pop.w_orgs == 2),
        pairs=pop.w_orgs.sum(),
        n1o=pop.count(where=pop.w_out == 1), n2o=pop.count(where=pop.w_out == 2), pairs_out=pop.w_out.sum(),
    )

    # The child's baseline count of unexplained readers and their bodies (learnt once per baseline epoch
    # and kept). A child in the news: readers of every kind jump (a serious incident, a strategy
    # meeting) - `hot_readers` or more in the window and `hot_factor` times the baseline readership.
    def learn_readers() -> ir.Table:
        base = ctx.without_exempt("vip_snooping", ctx.user_record_x(BASELINE))
        base = base.filter(~base.explained & ~_recent_case(base, p.recent_case_days))
        return base.group_by(b_record=base.record_id).aggregate(b_orgs=base.org_id.nunique(),
                                                               b_users=base.user_id.nunique())

    bpop = ctx.learnt("vip_snooping:readers", learn_readers)
    scale = min(ctx.window_days / max(ctx.baseline_days, 1.0), 1.0)
    xw = x.filter(x.period == WINDOW)
    allr = xw.group_by(h_record=xw.record_id).aggregate(
        h_win=xw.user_id.nunique(), h_orgs=xw.org_id.nunique(),
        h_unrel=xw.org_id.nunique(where=~xw.explained & ~xw.recent_case & xw.newcomer))
    allr = allr.filter(allr.h_win >= p.hot_readers, allr.h_orgs >= p.min_orgs + 1)
    busy = numeric(allr.to_pandas(), ["h_win", "h_orgs", "h_unrel"])
    busy_set = set(busy.h_record)
    n_hot = len(busy_set)
    # the unrelated bodies a busy child usually gets: a trimmed mean (the top tenth left out)
    trimmed = busy.h_unrel.sort_values().iloc[: max(int(len(busy) * 0.9), 1)] if len(busy) else busy.h_unrel
    lam_busy = float(trimmed.mean()) if len(trimmed) else 0.0
    hot = pop.filter(pop.w_orgs >= p.min_orgs, pop.w_users >= p.min_users)
    hot = hot.left_join(bpop, hot.v_record == bpop.b_record)
    hdf = hot.select("v_record", "w_users", "w_orgs", "v_area", "b_orgs", "b_users").to_pandas()
    if hdf.empty:
        return []
    hdf = numeric(hdf, ["w_users", "w_orgs", "b_orgs", "b_users"])
    hdf["is_hot"] = hdf.v_record.isin(busy_set)
    adf = numeric(per_area.to_pandas(), ["n1", "n2", "pairs", "n1o", "n2o", "pairs_out"])
    children = _children_per_area(ctx)
    total_children = max(sum(children.values()), int(adf.pairs.sum()), 1)
    lam_area: dict[object, float] = {}
    lam_out: dict[object, float] = {}
    for r in adf.itertuples(index=False):
        n_children = max(children.get(r.a_area, 0) or total_children, 1)
        lam_area[r.a_area] = _second_body_rate(r.n1, r.n2, r.pairs, n_children)
        lam_out[r.a_area] = _second_body_rate(r.n1o, r.n2o, r.pairs_out, n_children)
    # Organisations per child within the busiest span of days (reads of a child in the news cluster),
    # all of them and those from outside the child's area: casework that the involvement data misses is
    # mostly local, a story in the news reaches every area, so bodies from elsewhere are the rarer sign.
    days = win.filter(win.record_id.isin(list(hdf.v_record)))
    ddf = days.group_by("record_id", "org_id").aggregate(
        day=days.first_ts.min().date(), out=days.out_of_area.any()).to_pandas()
    window_days = max(ctx.window_days, 1.0)
    span = min(float(p.span_days), window_days)
    week = min(float(p.week_days), window_days) if p.week_days > 0 else 1.0
    strong: dict[str, list[_ChildTest]] = {}
    spans = sorted({1.0, span, week})
    n_tests = 2 * len(spans) + 1  # each span for all bodies and for those from elsewhere, and the busy test
    for r in hdf.itertuples(index=False):
        rows = ddf[ddf.record_id == r.v_record]
        grp = pd.to_datetime(rows.day).sort_values().to_numpy()
        grp_out = pd.to_datetime(rows.day[rows.out.astype(bool)]).sort_values().to_numpy()
        # The child's own history shrinks toward its area's rate (a gamma prior of shape 2): one
        # unrelated reader in months of history says little. Its history counts every unrelated body
        # (an upper bound on those from elsewhere, so the test from elsewhere errs towards chance).
        rate, rate_out = (float((r.b_orgs + 2.0) / (1.0 / max(scale, 1e-6) + 2.0 / max(a.get(r.v_area, 0.0), 1e-4)))
                          for a in (lam_area, lam_out))
        found: list[_ChildTest] = []
        for grp_k, rate_k, elsewhere in ((grp, rate, False), (grp_out, rate_out, True)):
            for sp in spans if len(grp_k) else []:  # the busiest day, `span_days` and week
                k_span = _max_in_span(grp_k, int(sp))
                lam = rate_k * sp / window_days
                tests = (children.get(r.v_area, 0) or total_children) * max(window_days / sp, 1.0) * n_tests
                pv = corrected(poisson_tail(k_span, lam), tests)
                found.append(_ChildTest(pv, strength(pv), lam, tests, k_span, sp, elsewhere))
        if bool(r.is_hot) and n_hot:
            # Among the few children whose readership jumped, unrelated bodies are judged over the
            # window and only those children are tested.
            lam = max(lam_busy, rate, 1e-3)
            pv = corrected(poisson_tail(r.w_orgs, lam), n_hot * n_tests)
            found.append(_ChildTest(pv, strength(pv), lam, float(n_hot), int(r.w_orgs), window_days, False))
        if any(t.strength >= MIN_STRENGTH for t in found):
            strong[r.v_record] = found
    if not strong:
        return []
    j = win.filter(win.record_id.isin(list(strong)))
    j = j.mutate(pseudonym=ctx.pseudonymise_expr(j.record_id))
    df = j.select("user_id", "org_id", "role", "record_id", "pseudonym", "n", "first_ts", "last_ts",
                  "out_of_area").to_pandas()
    stats = {rec: r for rec, r in zip(hdf.v_record, hdf.itertuples(index=False), strict=True)}
    fb = FindingBuilder(ctx, "vip_snooping")
    for r in df.itertuples(index=False):
        # Each reader is as strong as the best test that counted them: the count from elsewhere does not
        # count the child's local unexplained readers (most are casework whose involvement is missing).
        counting = [t for t in strong[r.record_id] if bool(r.out_of_area) or not t.elsewhere]
        if not counting:
            continue
        pv, st, lam, tests, k_span, sp, elsewhere = min(counting, key=lambda t: t.pv)
        if st < MIN_STRENGTH:
            continue
        h = stats[r.record_id]
        counted = " from outside the child's area" if elsewhere else ""
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=r.pseudonym, severity=severity_of(st), score=score_of(st),
            summary=(f"{r.user_id} ({r.role}) opened record {r.pseudonym}, one of {int(h.w_users)} unrelated readers "
                     f"from {int(h.w_orgs)} organisations this period ({k_span}{counted} within {int(sp)} day(s), "
                     f"where about {lam:.2g} would be usual by chance): a child in the news."),
            evidence={"record": r.pseudonym, "accesses": r.n, "window_unexplained_readers": h.w_users,
                      "window_organisations": h.w_orgs, "organisations_within_span": k_span,
                      "counted_from_outside_area": elsewhere,
                      "baseline_readers": h.b_users, "baseline_organisations": h.b_orgs,
                      "expected_organisations_in_span": lam, "tests": round(tests),
                      **evidence_fields(pv, st, "Poisson: unrelated bodies (all, or from outside the child's area) "
                                        "per child of the area within a span of days, corrected for the children, "
                                        "spans and counts tested")},
            record_count=1, first_seen=r.first_ts, last_seen=r.last_ts,
        )
    return fb.findings


def _bulk_pass(ctx: DetectionContext, x: ir.Table, records: int) -> ir.Table:
    """`x` (window rows of `user_record_x`) with `bulk_pass`: the user opened the child only within one local day on
    which they made at least `records` record accesses (a census return, an export, an inspection's sample works
    through a list; reading the child in the news among a thousand others is not looking it up)."""
    ud = ctx.part("user_day", WINDOW)
    days = ud.filter(ud.n_rec + ud.n_rec_allowed >= records).select(
        bp_user=ud.user_id, bp_org=ud.org_id, bp_first=ud.first_ts, bp_last=ud.last_ts)
    # A user's days are disjoint, so a child's reads fit within one of them at most: one row per row of `x`.
    j = x.left_join(days, (x.user_id == days.bp_user) & (x.org_id == days.bp_org) & (x.first_ts >= days.bp_first)
                    & (x.last_ts <= days.bp_last))
    return j.select(*x.columns, bulk_pass=j.bp_user.notnull())


def _second_body_rate(n1: float, n2: float, pairs: float, n_children: int) -> float:
    """Unrelated bodies a child of an area gets by chance in the window: twice the children with two over
    those with one (one child with two counted as seen, so a window where none had two does not make a
    third body impossible); the crude rate, bodies over children, where too few children had one to say."""
    return 2.0 * (n2 + 1) / n1 if n1 >= 50 else float(pairs) / n_children


def _known_readers(ctx: DetectionContext) -> ir.Table:
    """(record, user) pairs of long-standing readers: the user first opened the child in the baseline, more
    than a window's length before it ended (learnt once per epoch and kept). A reader of a child in the news
    who started in the days before the window is still a newcomer when the story runs on into it."""
    cut = ctx.baseline_end - timedelta(days=max(ctx.window_days, 1.0))

    def learn() -> ir.Table:
        b = ctx.part("user_record", BASELINE)
        b = b.filter(b.first_ts < ibis.literal(cut))
        return b.select(k_record=b.record_id, k_user=b.user_id).distinct()

    known = ctx.learnt("vip_snooping:known_readers", learn)
    return known.select("k_record", "k_user").mutate(k_seen=ibis.literal(True))


def _max_in_span(days: np.ndarray, span: int) -> int:
    """Most entries of a sorted datetime64 array within any `span` consecutive days."""
    if len(days) == 0:
        return 0
    d = days.astype("datetime64[D]").astype(np.int64)
    hi = np.searchsorted(d, d + max(span, 1), side="left")
    return int((hi - np.arange(len(d))).max())


def _children_per_area(ctx: DetectionContext) -> dict[object, int]:
    """Children per home area (from subjects; {} when unknown)."""
    if not ctx.has_data("subjects", "home_area"):
        return {}
    s = ctx.table("subjects")
    df = s.group_by(area=s.home_area).aggregate(n=s.count()).to_pandas()
    return {a: int(n) for a, n in zip(df.area, df.n, strict=True)}
