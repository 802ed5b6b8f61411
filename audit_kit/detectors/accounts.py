"""Account detectors: who is using an account, and how — leavers, dormant accounts, shared accounts, weak sign-in.

leaver_account, dormant_account, concurrent_sessions, weak_auth over the shared `user_hour`
aggregate and the `users` table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import pandas as pd

from audit_kit.config import role_matches
from audit_kit.detectors.base import FindingBuilder, Params, severity_for
from audit_kit.detectors.context import BASELINE, RECENT, WINDOW
from audit_kit.models.findings import Finding, Severity

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from audit_kit.detectors.context import DetectionContext


class LeaverParams(Params):
    grace_days: int = 0


def leaver_account(ctx: DetectionContext, p: LeaverParams) -> list[Finding]:
    """Any successful activity on an account after its holder left (users.end_date): always critical.

    Counts successful logins, searches and record accesses on days after `end_date` (+ `grace_days`).
    Failed logins after leaving are not counted: a refused login means the account was disabled.
    """
    x = ctx.without_exempt("leaver_account", ctx.user_hour_x(WINDOW))
    u = ctx.users.select(l_user="user_id", l_end="end_date")
    j = x.join(u, x.user_id == u.l_user)
    j = j.filter(j.l_end.notnull(), j.day > j.l_end + ibis.interval(days=p.grace_days))
    active = j.n_login + j.n_rec + j.n_search
    j = j.filter(active > 0)
    agg = j.group_by(j.user_id, j.org_id, j.role, j.l_end).aggregate(
        events=active.sum(), records=j.n_rec.sum(), days=j.day.nunique(), first=j.first_ts.min(), last=j.last_ts.max()
    )
    df = agg.to_pandas()
    fb = FindingBuilder(ctx, "leaver_account")
    for r in df.itertuples(index=False):
        end = pd.Timestamp(r.l_end)
        after = (r.first.normalize() - end).days
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=str(end.date()), severity=Severity.CRITICAL,
            score=min(1.0, 0.8 + 0.02 * r.days),
            summary=(f"The account of {r.user_id} ({r.role}), who left on {end.date()}, was used {int(r.events)} "
                     f"times on {int(r.days)} day(s) after leaving, starting {after} days later."),
            evidence={"end_date": str(end.date()), "events_after_leaving": r.events,
                      "record_accesses_after_leaving": r.records, "active_days": r.days,
                      "days_after_end_to_first_use": after,
                      "baseline": f"none needed: any successful use after users.end_date (+{p.grace_days} days)"},
            record_count=int(r.records), first_seen=r.first, last_seen=r.last,
        )
    return fb.findings


class DormantParams(Params):
    dormant_days: int = 90
    min_history_days: int = 28


def dormant_account(ctx: DetectionContext, p: DormantParams) -> list[Finding]:
    """An account idle for `dormant_days` (90) or more that suddenly becomes active in the window.

    Idle time is measured from the last activity before the window; when the account shows none in
    the baseline history, from its start date (the logs show no use since at least the start of the
    history). New accounts (started within `dormant_days`) and leavers (their own detector) are excluded.
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
        first=w.first_ts.min(), last=w.last_ts.max(), events=(w.n_login + w.n_rec + w.n_search).sum(), records=w.n_rec.sum()
    )
    u = ctx.users.select(d_user="user_id", start_date="start_date", end_date="end_date")
    j = first.left_join(prev, first.user_id == prev.pv_user).left_join(u, first.user_id == u.d_user)
    df = j.select("user_id", "org_id", "role", "first", "last", "events", "records", "prev", "start_date",
                  "end_date").to_pandas()
    history_start = max(pd.Timestamp(ctx.baseline_start), pd.Timestamp(ctx.data_start))
    fb = FindingBuilder(ctx, "dormant_account")
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
            observed = True
        else:
            if (first_ts - history_start).days < p.min_history_days:
                continue
            idle = (first_ts - history_start).days
            observed = idle >= p.dormant_days
            if start is None and not observed:
                continue
            since_txt = f"no use in the logs since {history_start.date()}"
            if start is not None:
                idle = max(idle, 0)
        if observed and idle < p.dormant_days:
            continue
        sev = Severity.HIGH if observed else Severity.MEDIUM
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=str(first_ts.date()), severity=sev,
            score=0.75 if observed else 0.5,
            summary=(f"The account of {r.user_id} ({r.role}) was dormant ({since_txt}, at least {idle} days) "
                     f"and became active again on {first_ts.date()}."),
            evidence={"idle_days_at_least": idle, "last_activity_before_window": r.prev,
                      "history_start": history_start, "account_start_date": start,
                      "window_events": r.events, "window_record_accesses": r.records,
                      "dormant_days": p.dormant_days},
            record_count=int(r.records), first_seen=r.first, last_seen=r.last,
        )
    return fb.findings


class ConcurrentParams(Params):
    min_overlaps: int = 2
    min_overlap_minutes: float = 1.0


def concurrent_sessions(ctx: DetectionContext, p: ConcurrentParams) -> list[Finding]:
    """One account in two places at once: sessions that overlap in time from different networks.

    Window sessions (first to last event) of the same user are paired; a pair that overlaps by at
    least `min_overlap_minutes` with source addresses in different /16 networks is a sign of a shared
    account or stolen credentials. `min_overlaps` (2) such pairs make a finding; high with 4 or more.
    """
    s = ctx.sessions
    a = s.select(user_id="user_id", org_id="org_id", a_sid="session_id", a_start="s_start", a_end="s_end",
                 a_net="net", a_ip="ip")
    b = s.select(b_user="user_id", b_sid="session_id", b_start="s_start", b_end="s_end", b_net="net", b_ip="ip")
    j = a.join(b, (a.user_id == b.b_user) & (a.a_sid < b.b_sid))
    overlap_s = (ibis.least(j.a_end, j.b_end).epoch_seconds() - ibis.greatest(j.a_start, j.b_start).epoch_seconds())
    j = j.filter(overlap_s >= p.min_overlap_minutes * 60, j.a_net.notnull(), j.b_net.notnull(), j.a_net != j.b_net)
    agg = j.group_by(j.user_id, j.org_id).aggregate(
        overlaps=j.count(), networks=j.b_net.nunique() + 1, first=ibis.least(j.a_start, j.b_start).min(),
        last=ibis.greatest(j.a_end, j.b_end).max(), ips=j.b_ip.collect(distinct=True),
        own_ips=j.a_ip.collect(distinct=True),
    )
    df = agg.filter(agg.overlaps >= p.min_overlaps).to_pandas()
    if df.empty:
        return []
    roles = ctx.users.select("user_id", "role").to_pandas().set_index("user_id").role.to_dict()
    dc = ctx.config.detector("concurrent_sessions")

    fb = FindingBuilder(ctx, "concurrent_sessions")
    for r in df.itertuples(index=False):
        role = roles.get(r.user_id) or "(unknown)"
        if role_matches(role, dc.exempt_roles):
            continue
        score = min(1.0, 0.35 + 0.12 * r.overlaps)
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=r.first.strftime("%G-W%V"),
            severity=Severity.HIGH if r.overlaps >= 4 else Severity.MEDIUM, score=score,
            summary=(f"{r.user_id} ({role}) was signed in from two different networks at the same time "
                     f"{int(r.overlaps)} times: a shared account or stolen credentials."),
            evidence={"overlapping_session_pairs": r.overlaps, "networks": r.networks,
                      "source_ips": sorted(set(list(r.ips) + list(r.own_ips))),
                      "baseline": "no overlapping sessions expected: one person works one session at a time",
                      "min_overlap_minutes": p.min_overlap_minutes},
            first_seen=r.first, last_seen=r.last,
        )
    return fb.findings


class WeakAuthParams(Params):
    min_events: int = 5
    user_share: float = 0.5
    max_org_share: float = 0.2


def weak_auth(ctx: DetectionContext, p: WeakAuthParams) -> list[Finding]:
    """Password-only sign-in by a user whose organisation otherwise signs in with MFA or smartcards.

    The user's window share of password-authenticated events must be at least `user_share` (and at
    least `min_events`), while the rest of their organisation's share over baseline and window is at
    most `max_org_share`. A switch from stronger sign-in to passwords is medium or high; a user who
    has always used a password (never enrolled) is low. Organisations that use passwords throughout
    are a questionnaire matter, not a user alert.
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
    uw = w.group_by(w.user_id, w.org_id, w.role).aggregate(
        pw=w.n_password.sum(), auth=w.n_auth.sum(), first=w.first_ts.min(where=w.n_password > 0),
        last=w.last_ts.max(where=w.n_password > 0),
    )
    j = (uw.filter(uw.pw >= p.min_events).join(org, uw.org_id == org.o_org)
         .join(usr_all, uw.user_id == usr_all.a_user).left_join(ub, uw.user_id == ub.b_user))
    df = j.select("user_id", "org_id", "role", "pw", "auth", "first", "last", "o_pw", "o_auth", "a_pw", "a_auth",
                  "b_pw", "b_auth").to_pandas()
    fb = FindingBuilder(ctx, "weak_auth")
    for r in df.itertuples(index=False):
        share = r.pw / max(r.auth, 1)
        rest_auth = r.o_auth - r.a_auth
        rest_share = (r.o_pw - r.a_pw) / rest_auth if rest_auth > 0 else 1.0
        if share < p.user_share or rest_share > p.max_org_share:
            continue
        b_share = None if pd.isna(r.b_auth) or not r.b_auth else float(r.b_pw) / float(r.b_auth)
        score = min(1.0, share * (1 - rest_share))
        always = b_share is not None and r.b_auth >= p.min_events and b_share >= p.user_share
        if always:
            # Never enrolled: an enrolment gap the organisation knows about, not a change to chase today.
            sev, score = Severity.LOW, min(score, 0.25)
            why = "as they always have"
        else:
            sev = severity_for(score, medium=0.3, high=0.9)
            why = "after using stronger sign-in before" if b_share is not None else "with no earlier history"
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=r.first.strftime("%G-W%V"), severity=sev, score=score,
            summary=(f"{r.user_id} ({r.role}) signed in with a password alone for {share:.0%} of their activity "
                     f"{why}, while the rest of their organisation uses stronger sign-in ({1 - rest_share:.0%})."),
            evidence={"password_events": r.pw, "authenticated_events": r.auth, "password_share": share,
                      "baseline_user_password_share": b_share, "organisation_password_share_others": rest_share},
            first_seen=r.first, last_seen=r.last,
        )
    return fb.findings

