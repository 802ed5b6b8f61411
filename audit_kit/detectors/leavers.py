"""leaver_account: an account used after its holder left (users.end_date), the holder's last night shift aside.

Over the shared `user_hour` aggregate and the `users` table, and the kept `activity` aggregate of the days around
the window's start for leavers whose last shift ran past midnight.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import ibis
import pandas as pd

from audit_kit.detectors.base import FindingBuilder, Params
from audit_kit.detectors.context import WINDOW
from audit_kit.detectors.evidence import MAX_STRENGTH, evidence_fields
from audit_kit.models.findings import Finding, Severity

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from audit_kit.detectors.context import DetectionContext


class LeaverParams(Params):
    grace_days: int = 0
    # The holder's last shift running past midnight (see `leaver_account`); morning_hour 0 turns it off.
    evening_hour: int = 18
    morning_hour: int = 12


def leaver_account(ctx: DetectionContext, p: LeaverParams) -> list[Finding]:
    """Any successful activity on an account after its holder left (users.end_date): always critical.

    Counts successful logins, searches and record accesses on days after `end_date` (+ `grace_days`).
    Failed logins after leaving are not counted: a refused login means the account was disabled.
    The holder's own last shift is not use after leaving: where they worked on the evening of their
    last day (from `evening_hour`, 18:00 local), what the account did the next morning before
    `morning_hour` (12:00 local) is that night shift ending (ward nurses, police on nights).
    """
    x = ctx.without_exempt("leaver_account", ctx.user_hour_x(WINDOW))
    u = ctx.users.select(l_user="user_id", l_end="end_date")
    j = x.join(u, x.user_id == u.l_user)
    j = j.filter(j.l_end.notnull(), j.day > j.l_end + ibis.interval(days=p.grace_days))
    if p.morning_hour > 0:
        nights = _last_nights(ctx, p)
        j = j.left_join(nights, j.user_id == nights.n_user)
        tail = (j.n_user.notnull() & (j.day == j.l_end + ibis.interval(days=1))
                & (j.hour.hour() < p.morning_hour))
        j = j.filter(~tail.fill_null(False))
    active = j.n_login + j.n_rec + j.n_search
    j = j.filter(active > 0)
    agg = j.group_by(j.user_id, j.org_id, j.role, j.l_end).aggregate(
        events=active.sum(), records=j.n_rec.sum(), days=j.day.nunique(), first=j.first_ts.min(), last=j.last_ts.max(),
        first_day=j.day.min(),
    )
    df = agg.to_pandas()
    fb = FindingBuilder(ctx, "leaver_account")
    for r in df.itertuples(index=False):
        end = pd.Timestamp(r.l_end)
        after = (pd.Timestamp(r.first_day) - end).days  # in the organisation's local days, as end_date is
        fb.add(
            org_id=r.org_id, user_id=r.user_id, bucket=str(end.date()), severity=Severity.CRITICAL,
            score=min(1.0, 0.8 + 0.02 * r.days),
            summary=(f"The account of {r.user_id} ({r.role}), who left on {end.date()}, was used {int(r.events)} "
                     f"times on {int(r.days)} day(s) after leaving, starting {after} day{'s' * (after != 1)} later."),
            evidence={"end_date": str(end.date()), "events_after_leaving": r.events,
                      "record_accesses_after_leaving": r.records, "active_days": r.days,
                      "days_after_end_to_first_use": after,
                      "baseline": f"none needed: any successful use after users.end_date (+{p.grace_days} days)",
                      **evidence_fields(0.0, MAX_STRENGTH, "policy: an account used after its holder left",
                                        policy=True)},
            record_count=int(r.records), first_seen=r.first, last_seen=r.last,
        )
    return fb.findings


def _last_nights(ctx: DetectionContext, p: LeaverParams) -> ir.Table:
    """(n_user): leavers whose account did something successful on the evening of their last day (local hours
    from `evening_hour`), where that day is at most a day before the window (only then can its next morning
    fall in the window). Read from the kept `activity` aggregate of those days (local hours), not the events."""
    a = ctx.engine.daily("activity", (ctx.since - timedelta(days=2)).date(), (ctx.until + timedelta(days=1)).date())
    a = a.filter(a.n_ok > 0)
    u = ctx.users
    u = u.filter(u.end_date.notnull()).select(t_user="user_id", t_end="end_date")
    j = a.join(u, a.user_id == u.t_user)
    evening = j.t_end.cast("timestamp") + ibis.interval(hours=p.evening_hour)
    j = j.filter(j.hour >= evening, j.hour < j.t_end.cast("timestamp") + ibis.interval(days=1))
    return j.select(n_user=j.user_id).distinct()
