"""Account detectors: who is using an account, and how — dormant accounts, shared accounts, weak sign-in.

dormant_account, concurrent_sessions, weak_auth over the shared `user_hour` aggregate, the window's
sessions and the `users` table (leavers' accounts: `audit_kit.detectors.leavers`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import ibis
import pandas as pd

from audit_kit.config import role_matches
from audit_kit.detectors.base import FindingBuilder, Params
from audit_kit.detectors.context import BASELINE, RECENT, UNKNOWN_ROLE, WINDOW
from audit_kit.detectors.evidence import (
    corrected,
    evidence_fields,
    numeric,
    poisson_tail,
    score_of,
    severity_of,
    strength,
)
from audit_kit.models.findings import Finding

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from audit_kit.detectors.context import DetectionContext


class DormantParams(Params):
    dormant_days: int = 56
    min_history_days: int = 28
    prior_strength: float = 60.0


def dormant_account(ctx: DetectionContext, p: DormantParams) -> list[Finding]:
    """An account idle for `dormant_days` (56, eight weeks) or more that becomes active in the window, scored by what it does.

    Idle time is measured from the last activity before the window; when the account shows none in
    the baseline history, from the start of the history (or the account's start date). New accounts
    (started within `dormant_days`) and leavers (their own detector) are excluded. A holder back
    from leave opens their own caseload; someone else reusing the account opens children no one in
    the organisation works with. Strength: the account's window count of children with no
    involvement, entitlement or colleague to explain them, against the peer group's baseline share
    (Poisson, shrunk with `prior_strength` records). A reactivation with nothing unusual is listed
    low (worth a look in the register); reuse on unrelated children is medium or high.
    """
    def active(period: str) -> ir.Table:
        x = ctx.without_exempt("dormant_account", ctx.user_hour_x(period))
        return x.filter((x.n_login + x.n_rec + x.n_search) > 0)

    def learn_last_activity() -> ir.Table:
        b = active(BASELINE)
        return b.group_by(pv_user=b.user_id).aggregate(prev=b.last_ts.max())

    # The last activity before the window: learnt from the baseline (kept), or in the days since it
    # (exempt users are never in the window's rows, so their recent activity needs no filter).
    kept = ctx.learnt("dormant_account:last_activity", learn_last_activity)
    r = ctx.part("user_hour", RECENT)
    r = r.filter((r.n_login + r.n_rec + r.n_search) > 0)
    recent = r.group_by(pv_user=r.user_id).aggregate(prev=r.last_ts.max())
    both = kept.union(recent)
    prev = both.group_by("pv_user").aggregate(prev=both.prev.max())
    w = active(WINDOW)
    first = w.group_by(w.user_id, w.org_id, w.role).aggregate(
        first=w.first_ts.min(), last=w.last_ts.max(), events=(w.n_login + w.n_rec + w.n_search).sum(),
        records=w.n_rec.sum()
    )
    u = ctx.users.select(d_user="user_id", start_date="start_date", end_date="end_date")
    j = first.left_join(prev, first.user_id == prev.pv_user).left_join(u, first.user_id == u.d_user)
    df = j.select("user_id", "org_id", "role", "first", "last", "events", "records", "prev", "start_date",
                  "end_date").to_pandas()
    df = numeric(df, ["events", "records"])
    history_start = max(pd.Timestamp(ctx.baseline_start), pd.Timestamp(ctx.data_start))
    cands = []
    for r in df.itertuples(index=False):
        first_ts = pd.Timestamp(r.first)
        if pd.notna(r.end_date) and pd.Timestamp(r.end_date) < first_ts.normalize():
            continue  # a leaver: leaver_account reports it
        start = pd.Timestamp(r.start_date) if pd.notna(r.start_date) else None
        if start is not None and (first_ts - start).days < p.dormant_days:
            continue  # a new account, not a dormant one
        if pd.notna(r.prev):
            idle = (first_ts - pd.Timestamp(r.prev)).days
            since_txt = f"last used {pd.Timestamp(r.prev).date()}"
            if idle < p.dormant_days:
                continue
        else:
            # No use in the whole history: idle at least that long (enough when the history is)
            idle = max((first_ts - history_start).days, 0)
            since_txt = f"no use in the logs since {history_start.date()}"
            if idle < p.min_history_days:
                continue
        cands.append((r, idle, since_txt, pd.isna(r.prev)))
    if not cands:
        return []
    users = [c[0].user_id for c in cands]
    ux = ctx.user_record_xc()
    uw = ux.filter(ux.period == WINDOW, ux.user_id.isin(users))
    unexpl = ~uw.explained & ~uw.colleague & ~uw.worked
    wr = numeric(uw.group_by(uw.user_id).aggregate(recs=uw.count(), hits=uw.count(where=unexpl)).to_pandas(),
                 ["recs", "hits"])
    per_user = {r.user_id: (r.recs, r.hits) for r in wr.itertuples(index=False)}

    def learn_peers() -> ir.Table:
        # As the baseline alone explains its reads (colleagues and work in the baseline); kept per epoch.
        ub = ctx.baseline_xc()
        return ub.group_by(ub.org_type, ub.role).aggregate(
            p_recs=ub.count(), p_hits=ub.count(where=~ub.explained & ~ub.colleague & ~ub.worked))

    learnt = ctx.learnt("dormant_account:peers", learn_peers)
    # Baseline reads the window explains after all (a colleague's read in the window, work since the baseline).
    fl = ctx.baseline_flips(True, True)
    corr = fl.group_by(c_type=fl.org_type, c_role=fl.role).aggregate(c_hits=fl.count())
    pj = learnt.left_join(corr, (learnt.org_type == corr.c_type) & (learnt.role == corr.c_role))
    peer = numeric(pj.select("org_type", "role", "p_recs", p_hits=(pj.p_hits - pj.c_hits.fill_null(0)).cast("int64"))
                   .to_pandas(), ["p_recs", "p_hits"])
    roles = ctx.users.select("user_id", "role").to_pandas()
    org_types = ctx.orgs.select("org_id", "org_type").to_pandas()
    role_of = dict(zip(roles.user_id, roles.role, strict=True))
    type_of = dict(zip(org_types.org_id, org_types.org_type, strict=True))
    peer_rate = {(t, r): (h + 0.5) / (n + 1.0) for t, r, n, h in peer.itertuples(index=False)}
    all_rate = (float(peer.p_hits.sum()) + 0.5) / (float(peer.p_recs.sum()) + 1.0)
    fb = FindingBuilder(ctx, "dormant_account")
    for r, idle, since_txt, inferred in cands:
        recs, hits = per_user.get(r.user_id, (0.0, 0.0))
        q = peer_rate.get((type_of.get(r.org_id), role_of.get(r.user_id)), all_rate)
        expected = max(recs * q, 0.05)
        pv = poisson_tail(hits, expected)
        st = strength(pv)
        first_ts = pd.Timestamp(r.first)
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=str(first_ts.date()), severity=severity_of(st),
            score=score_of(st),
            summary=(f"The account of {r.user_id} ({r.role}) was dormant ({since_txt}, at least {idle} days) "
                     f"and became active again on {first_ts.date()}, opening {int(recs)} children's records, "
                     f"{int(hits)} of them with no involvement or colleague to explain it."),
            evidence={"idle_days_at_least": idle, "idle_inferred_from_history_start": bool(inferred),
                      "last_activity_before_window": r.prev, "history_start": history_start,
                      "window_events": r.events, "window_record_accesses": r.records,
                      "window_records": recs, "unexplained_records": hits, "expected_unexplained": round(expected, 3),
                      "dormant_days": p.dormant_days,
                      **evidence_fields(pv, st, "Poisson: the peer group's share of unexplained children, "
                                        "for an account back from idleness")},
            record_count=int(recs), first_seen=r.first, last_seen=r.last,
        )
    return fb.findings


class ConcurrentParams(Params):
    min_conflicts: int = 1
    min_overlap_minutes: float = 1.0
    travel_minutes: float = 5.0
    base_rate: float = 0.01


def concurrent_sessions(ctx: DetectionContext, p: ConcurrentParams) -> list[Finding]:
    """One account in two places at once: sessions from different networks that overlap, or follow each other within minutes.

    Window sessions (the log's session ids, or sessions derived from account, network,
    authentication method and time gaps where the log has none) of the same user are paired. A pair
    from different networks (/16) that overlaps by at least `min_overlap_minutes`, or starts within
    `travel_minutes` of the other's end, is a conflict: one person cannot be in both places. Chance:
    conflicts per active user in the window across the population (at least `base_rate`, the
    occasional VPN switch), a Poisson tail for the user, as every per-user detector's (the calibrated
    cut-offs and the alert budget keep the population's alerts in bounds); a conflict in which one
    side signed in with a password alone counts twice.

    Most conflicts in ordinary work are between an organisation's own networks (an office session
    left open while its holder carries on over the VPN). A conflict with a side **outside** them (a
    home line, another body's office: `sessions.own_networks`) is what a second person on the
    account looks like, and is much rarer: those conflicts are also judged against the population's
    rate of outside conflicts alone, and the stronger of the two tests counts, corrected for making
    two. That rate comes from the share of users with any outside conflict (a Poisson rate), so a few
    shared accounts with many conflicts do not set it for everyone; at least one in the population.
    """
    s = ctx.sessions
    a = s.select(user_id="user_id", org_id="org_id", a_sid="session_key", a_start="s_start", a_end="s_end",
                 a_net="net", a_ip="ip", a_strong="strong", a_out="outside")
    b = s.select(b_user="user_id", b_sid="session_key", b_start="s_start", b_end="s_end", b_net="net", b_ip="ip",
                 b_strong="strong", b_out="outside")
    j = a.join(b, (a.user_id == b.b_user) & (a.a_sid < b.b_sid))
    j = j.mutate(overlap_s=ibis.least(j.a_end, j.b_end).epoch_seconds()
                 - ibis.greatest(j.a_start, j.b_start).epoch_seconds())
    j = j.filter(j.overlap_s >= -p.travel_minutes * 60, j.a_net.notnull(), j.b_net.notnull(), j.a_net != j.b_net)
    weak = ((j.a_strong == False) | (j.b_strong == False)).fill_null(False)  # noqa: E712 - a three-valued column
    outside = (j.a_out.fill_null(False) | j.b_out.fill_null(False))
    agg = j.group_by(j.user_id, j.org_id).aggregate(
        conflicts=j.count(), overlaps=j.count(where=j.overlap_s >= p.min_overlap_minutes * 60),
        weak=j.count(where=weak), outside=j.count(where=outside), outside_weak=j.count(where=outside & weak),
        networks=j.b_net.nunique() + 1,
        first=ibis.least(j.a_start, j.b_start).min(), last=ibis.greatest(j.a_end, j.b_end).max(),
        ips=j.b_ip.collect(distinct=True), own_ips=j.a_ip.collect(distinct=True),
    )
    df = agg.filter(agg.conflicts >= p.min_conflicts).to_pandas()
    if df.empty:
        return []
    df = numeric(df, ["conflicts", "overlaps", "weak", "outside", "outside_weak", "networks"])
    active = max(int(s.user_id.nunique().to_pandas()), 1)
    total = float((df.conflicts + df.weak).sum())
    users_out = int((df.outside > 0).sum())
    roles = ctx.users.select("user_id", "role").to_pandas().set_index("user_id").role.to_dict()
    dc = ctx.config.detector("concurrent_sessions")

    fb = FindingBuilder(ctx, "concurrent_sessions")
    for r in df.itertuples(index=False):
        role = roles.get(r.user_id)
        role = role if isinstance(role, str) and role else UNKNOWN_ROLE
        if role_matches(role, dc.exempt_roles):
            continue
        k = r.conflicts + r.weak
        # the population's rate without this user (one shared account must not hide itself)
        lam = max((total - k) / max(active - 1, 1), p.base_rate)
        # Outside conflicts against the rate of outside conflicts alone, from the share of the other
        # users with any (-ln(1 - share) under a Poisson): a few shared accounts with many conflicts
        # must not set the rate for everyone. At least one in the population.
        k_out = r.outside + r.outside_weak
        others = min((users_out - (r.outside > 0)) / max(active - 1, 1), 0.5)
        lam_out = max(-math.log1p(-others), 1.0 / active)
        pv = corrected(min(poisson_tail(k, lam), poisson_tail(k_out, lam_out)), 2)
        st = strength(pv)
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=r.first.strftime("%G-W%V"),
            severity=severity_of(st), score=score_of(st),
            summary=(f"{r.user_id} ({role}) was signed in from two different networks at the same time or minutes "
                     f"apart {int(r.conflicts)} time(s)"
                     + (f", {int(r.weak)} of them without a second factor" if r.weak else "")
                     + ": a shared account or stolen credentials."),
            evidence={"conflicting_session_pairs": r.conflicts, "overlapping_pairs": r.overlaps,
                      "password_only_pairs": r.weak, "outside_network_pairs": r.outside, "networks": r.networks,
                      "source_ips": sorted(set(list(r.ips) + list(r.own_ips))),
                      "baseline": {"conflicts_per_active_user": round(lam, 4),
                                   "outside_conflicts_per_active_user": round(lam_out, 4), "active_users": active},
                      "min_overlap_minutes": p.min_overlap_minutes, "travel_minutes": p.travel_minutes,
                      **evidence_fields(pv, st, "Poisson: the user's conflicts (and conflicts with an outside "
                                        "network) against the rate per active user across the population, "
                                        "corrected for making two tests")},
            first_seen=r.first, last_seen=r.last,
        )
    return fb.findings


class WeakAuthParams(Params):
    min_sessions: int = 1
    max_user_share: float = 0.2
    max_org_share: float = 0.2
    prior_strength: float = 50.0


def weak_auth(ctx: DetectionContext, p: WeakAuthParams) -> list[Finding]:
    """Password-only sessions by a user who signs in with MFA or smartcards, in an organisation that does.

    Sessions as `concurrent_sessions` sees them (derived where the log has no session ids, so a
    password-only use from another network is never folded into the owner's MFA session). A user whose
    baseline events were at most `max_user_share` password-only, in an organisation whose other users'
    were at most `max_org_share`, is scored on their window count of password-only sessions against
    that share (shrunk to the organisation's with a prior of `prior_strength` events): a Poisson tail.
    A user who has always used a password (never enrolled) is an enrolment gap the organisation knows
    about: listed low. Organisations that use passwords throughout are a questionnaire matter, not a
    user alert.

    Where a password alone is accepted in an MFA organisation is usually its own offices (staff not
    yet enrolled work there); from **outside** its own networks (`sessions.own_networks`: a home
    line, another body) a password-only session is a second factor bypassed. So the user's
    password-only sessions from outside are also judged against the organisation's other users'
    rate of such sessions in the window ((h + 0.5) / (n + 1) per session, in place of the
    organisation's overall password share), and the stronger of the two tests counts, corrected for
    making two. The user's history says how often they used a password, not from where: in that test it
    counts at the share of the others' password-only sessions that came from outside (a password at the
    office now and then does not excuse one from home).

    Where `users.mfa_enrolled` says a user is **not enrolled**, a password is the only way they can sign
    in: not a second factor bypassed but an enrolment gap on the organisation's own record (the
    questionnaire's matter), listed low whatever their history (a returner from long leave, a new
    starter not yet enrolled). Their sessions are left out of the others' rate from outside too, so
    that staff who cannot use a second factor do not excuse a bypass by someone who can.
    """
    def learn_orgs() -> ir.Table:
        b = ctx.without_exempt("weak_auth", ctx.user_day(BASELINE))
        return b.group_by(o_org=b.org_id).aggregate(o_pw=b.n_password.sum(), o_auth=b.n_auth.sum())

    def learn_users() -> ir.Table:
        b = ctx.without_exempt("weak_auth", ctx.user_day(BASELINE))
        return b.group_by(b_user=b.user_id).aggregate(b_pw=b.n_password.sum(), b_auth=b.n_auth.sum())

    ob = ctx.learnt("weak_auth:orgs", learn_orgs)
    ub = ctx.learnt("weak_auth:users", learn_users)
    w = ctx.without_exempt("weak_auth", ctx.user_hour_x(WINDOW))
    # Organisation and user totals over baseline + window: the kept baseline sums plus the window's.
    ow = w.group_by(o_org=w.org_id).aggregate(o_pw=w.n_password.sum(), o_auth=w.n_auth.sum())
    both = ob.union(ow)
    org = both.group_by("o_org").aggregate(o_pw=both.o_pw.sum(), o_auth=both.o_auth.sum())
    aw = w.group_by(b_user=w.user_id).aggregate(b_pw=w.n_password.sum(), b_auth=w.n_auth.sum())
    ua = ub.union(aw)
    usr_all = ua.group_by(a_user=ua.b_user).aggregate(a_pw=ua.b_pw.sum(), a_auth=ua.b_auth.sum())
    s = ctx.sessions
    sw = s.filter(s.strong.notnull())
    weak_out = ~sw.strong & sw.outside.fill_null(False)
    us = sw.group_by(sw.user_id, sw.org_id).aggregate(
        sessions=sw.count(), weak=sw.count(where=~sw.strong), weak_out=sw.count(where=weak_out),
        first=sw.s_start.min(where=~sw.strong), last=sw.s_end.max(where=~sw.strong),
        nets=sw.net.nunique(where=~sw.strong),
    )
    # Where passwords are used (office or outside) counts everyone's sessions; the others' rate of bypasses
    # from outside only those of users who could have used a second factor (not known to be unenrolled).
    gap = ctx.users.filter(ctx.users.mfa_enrolled == ibis.literal(False)).select(g_user="user_id").distinct()
    cw = sw.left_join(gap, sw.user_id == gap.g_user)
    could = cw.g_user.isnull()
    c_out = ~cw.strong & cw.outside.fill_null(False)
    os_ = cw.group_by(s_org=cw.org_id).aggregate(
        org_weak_out=cw.count(where=c_out), org_weak=cw.count(where=~cw.strong),
        could_sessions=cw.count(where=could), could_weak_out=cw.count(where=c_out & could))
    roles = ctx.users.select(r_user="user_id", role="role", enrolled="mfa_enrolled")
    j = (us.filter(us.weak >= p.min_sessions).join(org, us.org_id == org.o_org)
         .join(usr_all, us.user_id == usr_all.a_user).left_join(ub, us.user_id == ub.b_user)
         .left_join(roles, us.user_id == roles.r_user).join(os_, us.org_id == os_.s_org))
    df = j.select("user_id", "org_id", "role", "enrolled", "sessions", "weak", "weak_out", "first", "last", "nets",
                  "o_pw", "o_auth", "a_pw", "a_auth", "b_pw", "b_auth", "org_weak_out", "org_weak",
                  "could_sessions", "could_weak_out").to_pandas()
    df = numeric(df, ["sessions", "weak", "weak_out", "nets", "o_pw", "o_auth", "a_pw", "a_auth", "b_pw", "b_auth",
                      "org_weak_out", "org_weak", "could_sessions", "could_weak_out"])
    fb = FindingBuilder(ctx, "weak_auth")
    for r in df.itertuples(index=False):
        rest_auth = r.o_auth - r.a_auth
        rest_share = (r.o_pw - r.a_pw) / rest_auth if rest_auth > 0 else 1.0
        if rest_share > p.max_org_share:
            continue
        role = r.role if isinstance(r.role, str) else UNKNOWN_ROLE
        b_share = r.b_pw / r.b_auth if r.b_auth > 0 else None
        always = b_share is not None and b_share > p.max_user_share
        enrolled = None if pd.isna(r.enrolled) else bool(r.enrolled)  # users.mfa_enrolled, where given
        not_enrolled = enrolled is False
        # The user's own sessions are in the others' bypass counts unless they are not enrolled (left out there).
        own_s, own_wo = (0.0, 0.0) if not_enrolled else (r.sessions, r.weak_out)
        q = (r.b_pw + p.prior_strength * max(rest_share, 0.005)) / (r.b_auth + p.prior_strength)
        expected = max(r.sessions * q, 0.01)
        pv = poisson_tail(r.weak, expected)
        out_rate = None
        if r.weak_out > 0:
            # the organisation's other users' password-only sessions from outside its networks, per session
            out_rate = (r.could_weak_out - own_wo + 0.5) / (r.could_sessions - own_s + 1.0)
            # the user's password share, at the share of colleagues' password-only sessions from outside
            outside_share = (r.org_weak_out - r.weak_out + 0.5) / (r.org_weak - r.weak + 1.0)
            q_out = (r.b_pw * outside_share + p.prior_strength * out_rate) / (r.b_auth + p.prior_strength)
            pv = corrected(min(pv, poisson_tail(r.weak_out, r.sessions * q_out)), 2)
        st = strength(pv)
        if not_enrolled or always:
            # Not enrolled (on the organisation's own record, or by their history): a password is all they have,
            # an enrolment gap the organisation knows about, not a change to chase today.
            st = min(st, 1.0)
            why = "as a user not enrolled for one (users.csv)" if not_enrolled else "as they always have"
        else:
            why = "after using stronger sign-in before" if b_share is not None else "with no earlier history"
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=r.first.strftime("%G-W%V"), severity=severity_of(st),
            score=score_of(st),
            summary=(f"{r.user_id} ({role}) signed in without a second factor (a password or key alone) in {int(r.weak)} of {int(r.sessions)} "
                     "session(s)"
                     + (f" ({int(r.weak_out)} from outside the organisation's networks)" if r.weak_out else "")
                     + f" {why}, while the rest of their organisation uses stronger sign-in "
                     f"({1 - rest_share:.0%})" + (": an enrolment gap, not a bypass." if not_enrolled else ".")),
            evidence={"password_only_sessions": r.weak, "sessions": r.sessions, "networks_of_password_sessions": r.nets,
                      "mfa_enrolled": enrolled,
                      "password_only_sessions_from_outside": r.weak_out,
                      "organisation_outside_password_rate_others": None if out_rate is None else round(out_rate, 5),
                      "baseline_user_password_share": b_share, "organisation_password_share_others": rest_share,
                      "expected_password_sessions": round(expected, 3),
                      **evidence_fields(pv, st, "Poisson: the user's baseline password share shrunk to the "
                                        "organisation's")},
            first_seen=r.first, last_seen=r.last,
        )
    return fb.findings
