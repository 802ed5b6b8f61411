"""after_hours: access at hours of the week when this user and their peers are essentially never at work."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import ibis

from audit_kit.detectors.base import FindingBuilder, Params
from audit_kit.detectors.context import BASELINE, WINDOW, matches_any
from audit_kit.detectors.evidence import (
    KEPT_LOW,
    evidence_fields,
    numeric,
    poisson_tail,
    score_of,
    severity_of,
    strength,
)
from audit_kit.models.findings import Finding
from audit_kit.vocab import SUCCESS

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from audit_kit.detectors.context import DetectionContext


class AfterHoursParams(Params):
    rare_probability: float = 0.005
    margin_minutes: int = 60
    min_events: int = 10
    min_support: int = 50
    smoothing: float = 0.5
    prior_hours: float = 50.0
    # Out-of-hours work that opened only the user's own cases (every record explained), none of it in the
    # dead of night (local midnight to `night_ends_hour`), is an evening's or early morning's catch-up: kept low.
    own_cases_low: bool = True
    night_ends_hour: int = 5
    # The dead of night is judged against the user's own nights only when they have this many active hours of
    # history: a new starter's first weeks do not say whether their shifts will include nights.
    night_history_hours: int = 50


CHANCE_MODEL = ("Poisson: the user's share of hours far outside working hours, and of hours in the dead of night, "
                "each shrunk to the peer group's (the stronger, corrected for two tests)")
# A user with under `night_history_hours` of history: one test, the nights not judged apart.
CHANCE_MODEL_SHORT_HISTORY = ("Poisson: the user's share of hours far outside working hours, shrunk to the peer "
                              "group's (too little history to judge their nights apart)")


def after_hours(ctx: DetectionContext, p: AfterHoursParams) -> list[Finding]:
    """Activity outside working hours (organisation's local time, summer time included) at hours of the
    week that are rare for this user AND for their peer group.

    Each user's hour-of-week profile P(hour-of-week | user) and their peer group's (organisation type
    + role) are learnt from the baseline, pooling the five weekdays (Saturday and Sunday apart: 72
    buckets) so fringe hours such as an early start have support. Window events outside working hours
    (or at weekends) in a bucket with probability below 0.5% for both count as unusual; ten or more
    make a finding. Hours within `margin_minutes` (60) of working hours are not judged (early starts,
    late finishes), nor is allow-listed work such as a statutory return run at 07:00.
    Duty, out-of-hours and emergency roles are exempt by default (config `entitlements.out_of_hours_roles`),
    as are system accounts running scheduled jobs (`entitlements.system_roles`).
    A user with fewer than `min_support` baseline events is judged on the peer profile alone.

    Strength: the number of distinct local hours (day × hour) with unusual activity, against the
    share of the user's baseline hours that fell that far outside working hours (shrunk to the peer
    group's share with a prior of `prior_hours` hours), times their active hours in the window: a
    Poisson tail. Hours, not events, are counted (events come in sessions). A shift worker whose
    history holds nights is not surprised by a night. The dead of night (local midnight to
    `night_ends_hour`) is also tested on its own: those unusual hours against the user's share of night
    hours in the baseline (shrunk the same way; only for a user with `night_history_hours`, 50, active
    hours of history), so that a history of late evenings does not make a 02:00 session ordinary. The
    finding takes the stronger of the two tests, its probability doubled where two were made.

    What the hours were spent on weighs too (`own_cases_low`): when every child's record the user opened in
    those hours is explained (an involvement, an entitlement, an allow-listed purpose, a reviewer's
    explanation) and none of the hours falls in the dead of night (local midnight to `night_ends_hour`,
    05:00), the user was catching up on their own cases of an evening or an early morning, as
    conscientious staff do: the finding is kept below medium as expected work (`evidence.expected_work`;
    it corroborates nothing). Reading children they have no reason to read, or anyone's records in the
    dead of night, stays judged on its strength.
    """
    dc = ctx.config.detector("after_hours")

    def judged(period: str) -> ir.Table:
        x = ctx.user_hour_x(period)
        x = x.filter(~x.ooh_role, ~x.system_role, ~matches_any(x.role, dc.exempt_roles))
        if dc.exempt_org_types:
            x = x.filter(~x.org_type.isin(list(dc.exempt_org_types)))
        return x

    # The hour-of-week profiles, learnt once per baseline epoch and kept.
    def learn_user_totals() -> ir.Table:
        b = judged(BASELINE)
        return b.group_by(t_user=b.user_id).aggregate(u_total=b.n.sum())

    def learn_user_hours() -> ir.Table:
        b = judged(BASELINE)
        return b.group_by(h_user=b.user_id, h_how=b.dhow).aggregate(u_c=b.n.sum())

    def learn_peer_totals() -> ir.Table:
        b = judged(BASELINE)
        return b.group_by(pt_type=b.org_type, pt_role=b.role).aggregate(p_total=b.n.sum(),
                                                                         p_users=b.user_id.nunique())

    def learn_peer_hours() -> ir.Table:
        b = judged(BASELINE)
        return b.group_by(ph_type=b.org_type, ph_role=b.role, ph_how=b.dhow).aggregate(p_c=b.n.sum())

    a = p.smoothing
    ut = ctx.learnt("after_hours:user_totals", learn_user_totals)
    uh = ctx.learnt("after_hours:user_hours", learn_user_hours)
    pt = ctx.learnt("after_hours:peer_totals", learn_peer_totals)
    ph = ctx.learnt("after_hours:peer_hours", learn_peer_hours)
    # Early starts and late finishes are ordinary: only hours at least `margin_minutes` outside
    # working hours (or weekends, when they count) are judged. Allow-listed work is left out.
    x = judged(WINDOW)
    deep = x.off_by >= p.margin_minutes
    if ctx.config.working_hours.weekend_is_out_of_hours:
        deep = deep | x.weekend
    w = x.filter(x.off_hours, deep)
    free = w.n - w.n_rec_allowed
    wh = w.group_by(w.user_id, w.org_id, w.role, w.org_type, how=w.dhow).aggregate(
        c=free.sum(), first=w.first_ts.min(), last=w.last_ts.max(), recs=w.n_rec.sum()
    )
    j = (
        wh.left_join(ut, wh.user_id == ut.t_user)
        .left_join(uh, (wh.user_id == uh.h_user) & (wh.how == uh.h_how))
        .left_join(pt, (wh.org_type == pt.pt_type) & (wh.role == pt.pt_role))
        .left_join(ph, (wh.org_type == ph.ph_type) & (wh.role == ph.ph_role) & (wh.how == ph.ph_how))
    )
    # The five weekdays share one bucket per hour (a user who starts at 07:00 on Mondays may do so
    # on a Thursday), Saturday and Sunday keep their own: 72 buckets.
    p_user = (j.u_c.fill_null(0) + a) / (j.u_total.fill_null(0) + 72 * a)
    p_peer = (j.p_c.fill_null(0) + a) / (j.p_total.fill_null(0) + 72 * a)
    user_known = j.u_total.fill_null(0) >= p.min_support
    rare = (p_peer < p.rare_probability) & (~user_known | (p_user < p.rare_probability))
    j = j.mutate(p_user=p_user, p_peer=p_peer, rare=rare)
    per_user = j.group_by(j.user_id, j.org_id, j.role, j.org_type).aggregate(
        rare_events=j.c.sum(where=j.rare),
        rare_records=j.recs.sum(where=j.rare),
        off_events=j.c.sum(),
        rare_hours=j.how.nunique(where=j.rare),
        first=j.first.min(where=j.rare),
        last=j.last.max(where=j.rare),
        baseline_events=j.u_total.max(),
        peer_users=j.p_users.max(),
        max_p_user=p_user.max(where=j.rare),
        max_p_peer=p_peer.max(where=j.rare),
        # the user's chance of an event landing in those hours of the week, as their history and
        # their peers' would have it
        rare_mass=ibis.greatest(p_user, p_peer).sum(where=j.rare),
    )
    flagged = per_user.filter(per_user.rare_events.fill_null(0) >= p.min_events)
    df = flagged.to_pandas()
    if df.empty:
        return []
    users = list(df.user_id)
    # Distinct local hours with unusual activity (the unit of evidence: one night is a few hours,
    # not a hundred events), and the user's and peers' baseline share of hours that deep off hours.
    rare_b = j.filter(j.rare).select(r_user=j.user_id, r_how=j.how)
    rare_cells = w.join(rare_b, (w.user_id == rare_b.r_user) & (w.dhow == rare_b.r_how))
    cells = rare_cells.group_by(c_user=rare_cells.user_id).aggregate(rare_cells=rare_cells.hour.nunique(),
                                                                    night=rare_cells.hour.nunique(
                                                                        where=rare_cells.hour.hour() < p.night_ends_hour))

    def far_off(t: ir.Table) -> ir.BooleanValue:
        d = t.off_by >= p.margin_minutes
        if ctx.config.working_hours.weekend_is_out_of_hours:
            d = d | t.weekend
        return (t.off_hours & d).fill_null(False)

    def dead_of_night(t: ir.Table) -> ir.BooleanValue:
        return (far_off(t) & (t.hour.hour() < p.night_ends_hour)).fill_null(False)

    def learn_user_far_off() -> ir.Table:
        b = judged(BASELINE)
        b = b.mutate(deep=far_off(b), night=dead_of_night(b))
        return b.group_by(h_user=b.user_id).aggregate(b_cells=b.count(), b_off=b.count(where=b.deep),
                                                      b_night=b.count(where=b.night))

    def learn_peer_far_off() -> ir.Table:
        b = judged(BASELINE)
        b = b.mutate(deep=far_off(b), night=dead_of_night(b))
        return b.group_by(q_type=b.org_type, q_role=b.role).aggregate(p_cells=b.count(), p_off=b.count(where=b.deep),
                                                                       p_night=b.count(where=b.night))

    hu = ctx.learnt("after_hours:user_far_off", learn_user_far_off)
    hours_p = ctx.learnt("after_hours:peer_far_off", learn_peer_far_off)
    xw = x.filter(x.user_id.isin(users))
    wc = xw.group_by(h_user=xw.user_id).aggregate(w_cells=xw.count())
    hb = hu.filter(hu.h_user.isin(users))
    hours_u = hb.to_pandas().merge(wc.to_pandas(), on="h_user", how="outer")
    extra = numeric(
        cells.to_pandas().rename(columns={"c_user": "user_id"})
        .merge(hours_u.rename(columns={"h_user": "user_id"}), on="user_id", how="outer"),
        ["rare_cells", "night", "b_cells", "b_off", "b_night", "w_cells"])
    pdf = numeric(hours_p.to_pandas(), ["p_cells", "p_off", "p_night"])
    df = df.merge(extra, on="user_id", how="left").merge(
        pdf, left_on=["org_type", "role"], right_on=["q_type", "q_role"], how="left")
    df = numeric(df, ["rare_events", "rare_records", "off_events", "rare_hours", "baseline_events", "peer_users",
                      "rare_cells", "night", "b_cells", "b_off", "b_night", "w_cells", "p_cells", "p_off", "p_night",
                      "rare_mass"])
    own = _own_cases(ctx, users, rare_b, deep_off=far_off) if p.own_cases_low else {}
    wins = ctx.part("user_hour", WINDOW)
    ww = wins.filter(wins.user_id.isin(users))
    totals = dict(ww.group_by("user_id").aggregate(n=ww.n.sum()).to_pandas().itertuples(index=False, name=None))
    fb = FindingBuilder(ctx, "after_hours")
    for r in df.itertuples(index=False):
        total = int(totals.get(r.user_id, 0))
        peer_share = (r.p_off + 1.0) / (r.p_cells + 100.0)
        q = (r.b_off + p.prior_hours * peer_share) / (r.b_cells + p.prior_hours)
        # Hours, not events, are the unit (events come in sessions): the unusual hours against the
        # share of the user's history spent that far off, times their active hours in the window.
        # (The hour-of-week profile says which hours are unusual; as a chance model it is too fine:
        # any evening never worked before would look impossible.)
        expected = max(r.w_cells, r.rare_cells) * q
        # The dead of night apart: an evening worker's history does not make a 2 a.m. session ordinary. The
        # night's unusual hours against the user's own share of night hours (shrunk the same way), where their
        # history is long enough to judge their nights; the finding then takes the stronger test, doubled for two.
        peer_night = (r.p_night + 1.0) / (r.p_cells + 100.0)
        q_night = (r.b_night + p.prior_hours * peer_night) / (r.b_cells + p.prior_hours)
        expected_night = max(r.w_cells, r.rare_cells) * q_night
        pv = poisson_tail(r.rare_cells, expected)
        nights_judged = r.b_cells >= p.night_history_hours
        if nights_judged:
            pv = min(1.0, 2.0 * min(pv, poisson_tail(r.night, expected_night)))
        expected_events = float(total) * float(r.rare_mass)
        st = strength(pv)
        opened, unexplained = own.get(r.user_id, (0, 0))
        own_only = p.own_cases_low and unexplained == 0 and r.night == 0
        if own_only:
            st = min(st, KEPT_LOW)
        week = r.first.strftime("%G-W%V")
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=week, severity=severity_of(st), score=score_of(st),
            summary=(f"{r.user_id} ({r.role}) was active {int(r.rare_events)} times in {int(r.rare_cells)} hour(s) "
                     f"out of hours at times of the week when neither they nor other {r.role}s normally work."),
            evidence={
                "unusual_events": r.rare_events, "unusual_record_accesses": r.rare_records,
                "unusual_hours": r.rare_cells, "distinct_hours_of_week": r.rare_hours,
                "out_of_hours_events": r.off_events, "window_events": total, "window_active_hours": r.w_cells,
                "expected_unusual_hours": round(expected, 3), "expected_unusual_events": round(expected_events, 3),
                # the night's test, where the user's history is long enough to make it
                **({"expected_unusual_hours_at_night": round(expected_night, 4)} if nights_judged else {}),
                "baseline": {"user_events": r.baseline_events, "peer_users": r.peer_users,
                             "user_active_hours": r.b_cells, "user_hours_far_off": r.b_off,
                             "peer_share_far_off": round(peer_share, 4), "user_hours_at_night": r.b_night,
                             "peer_share_at_night": round(peer_night, 5),
                             "rare_below_probability": p.rare_probability,
                             "highest_user_probability": r.max_p_user, "highest_peer_probability": r.max_p_peer},
                "judged_in": "organisation local time",
                **({"records_opened_in_unusual_hours": opened, "unexplained_records_in_unusual_hours": unexplained,
                    "unusual_hours_in_the_dead_of_night": r.night} if p.own_cases_low else {}),
                # kept below medium as expected work: it corroborates nothing (detectors/risk.py)
                **({"expected_work": "out-of-hours work on their own cases: every record opened in those hours is "
                                     "explained"} if own_only else {}),
                **evidence_fields(pv, st, CHANCE_MODEL if nights_judged else CHANCE_MODEL_SHORT_HISTORY),
            },
            first_seen=r.first, last_seen=r.last,
        )
    return fb.findings


def _own_cases(
    ctx: DetectionContext, users: list[str], rare: ir.Table, deep_off: Callable[[ir.Table], ir.BooleanValue]
) -> dict[str, tuple[int, int]]:
    """Per flagged user: the children's records opened (successfully) in their unusual out-of-hours hours,
    and how many of them nothing explains (`user_record_x`'s `explained`). One pass over the window's events
    of the flagged users only, bucketed by local hour as `user_hour_x` is."""
    e = ctx.table("events")
    e = e.filter(e.timestamp >= ctx.since, e.timestamp < ctx.until, e.user_id.isin(users), e.record_id.notnull(),
                 e.outcome == SUCCESS)
    hours = ctx.hour_x(e.group_by(e.user_id, e.org_id, e.record_id, hour=e.local_time.truncate("h")).aggregate(
        n=e.count()))
    hours = hours.filter(deep_off(hours))
    hours = hours.join(rare, (hours.user_id == rare.r_user) & (hours.dhow == rare.r_how))
    xr = ctx.user_record_x(WINDOW)
    xr = xr.select(x_user=xr.user_id, x_org=xr.org_id, x_record=xr.record_id, x_explained=xr.explained)
    j = hours.left_join(xr, (hours.user_id == xr.x_user) & (hours.org_id == xr.x_org)
                        & (hours.record_id == xr.x_record))
    per = j.group_by(o_user=j.user_id).aggregate(
        opened=j.record_id.nunique(), unexplained=j.record_id.nunique(where=~j.x_explained.fill_null(False)))
    df = numeric(per.to_pandas(), ["opened", "unexplained"])
    return {u: (int(o), int(n)) for u, o, n in df.itertuples(index=False, name=None)}
