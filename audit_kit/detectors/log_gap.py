"""log_gap: an organisation that normally sends logs every working day falls silent.

Silence in the log is missing evidence, not good behaviour. The engine aggregates events per
organisation and day (from the shared `user_hour` aggregate); the small org × day calendar is then
checked here in pandas (marked non-portable in the registry: it runs on engine aggregates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from audit_kit.detectors.base import FindingBuilder, Params
from audit_kit.detectors.context import BASELINE, WINDOW
from audit_kit.models.findings import Finding, Severity

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from audit_kit.detectors.context import DetectionContext


class LogGapParams(Params):
    min_gap_days: int = 2
    usual_share: float = 0.8
    min_baseline_days: int = 14
    high_gap_days: int = 7


def log_gap(ctx: DetectionContext, p: LogGapParams) -> list[Finding]:
    """An organisation whose logs normally arrive every working day sends nothing for several days.

    For each organisation and weekday, the baseline share of days with any event is learnt; a
    weekday is "expected" when that share is at least 80%. A run of at least `min_gap_days`
    expected days with no events in the window (other days in between do not break the run) is a
    finding about the organisation (user_id null): high, since the evidence is missing.
    """
    def org_days(period: str) -> ir.Table:
        uh = ctx.part("user_hour", period)
        return uh.group_by(uh.org_id, uh.period, day=uh.hour.date()).aggregate(n=uh.n.sum())

    # The baseline's calendar of organisation × day counts is learnt once per baseline epoch and kept.
    base = ctx.learnt("log_gap:org_days", lambda: org_days(BASELINE))
    df = base.union(org_days(WINDOW)).to_pandas()
    if df.empty:
        return []
    df["day"] = pd.to_datetime(df["day"])
    base_start = max(pd.Timestamp(ctx.baseline_start), pd.Timestamp(ctx.data_start)).normalize()
    base_days = pd.date_range(base_start, pd.Timestamp(ctx.baseline_end).normalize() - pd.Timedelta(days=1),
                              freq="D")
    win_end = min(pd.Timestamp(ctx.until), pd.Timestamp(ctx.data_end) + pd.Timedelta(microseconds=1))
    win_days = pd.date_range(pd.Timestamp(ctx.since).normalize(), (win_end - pd.Timedelta(microseconds=1)).normalize(),
                             freq="D")
    if len(base_days) < p.min_baseline_days or len(win_days) == 0:
        return []
    fb = FindingBuilder(ctx, "log_gap")
    # An organisation that logged on every day of the window has no silence to judge: skip its calendar.
    in_window = df[(df.period == WINDOW) & df.day.isin(win_days)]
    window_active = in_window.groupby("org_id").day.nunique()
    full = set(window_active[window_active >= len(win_days)].index)
    for org, grp in df.groupby("org_id", sort=True):
        if org in full:
            continue
        base = grp[grp.period == BASELINE]
        # An organisation's history starts with its first event; days before it are not "silence".
        org_start = max(base_start, base.day.min()) if len(base) else None
        if org_start is None:
            continue
        bdays = base_days[base_days >= org_start]
        if len(bdays) < p.min_baseline_days:
            continue
        active = set(grp.day)
        cal = pd.DataFrame({"day": bdays})
        cal["active"] = cal.day.isin(active)
        cal["wd"] = cal.day.dt.day_of_week
        share = cal.groupby("wd").active.mean()
        expected = {wd for wd, s in share.items() if s >= p.usual_share}
        if not expected:
            continue
        per_day = grp.groupby("day").n.sum()
        usual = float(per_day[per_day.index.isin(bdays)].median()) if len(per_day) else 0.0
        runs: list[list[pd.Timestamp]] = []
        cur: list[pd.Timestamp] = []
        for d in win_days:
            if d.day_of_week not in expected:
                continue
            if d in active:
                if cur:
                    runs.append(cur)
                cur = []
            else:
                cur.append(d)
        if cur:
            runs.append(cur)
        for run in runs:
            if len(run) < p.min_gap_days:
                continue
            first, last = run[0], run[-1]
            sev = Severity.HIGH if len(run) >= p.high_gap_days else Severity.MEDIUM
            fb.add(
                org_id=str(org), user_id=None, bucket=str(first.date()), severity=sev,
                score=min(1.0, 0.4 + 0.08 * len(run)),
                summary=(f"Organisation {org} sent no access logs on {len(run)} working days from {first.date()} "
                         f"to {last.date()}, though it normally logs about {usual:,.0f} events a day."),
                evidence={"silent_expected_days": len(run), "from": str(first.date()), "to": str(last.date()),
                          "baseline": {"days": len(bdays), "usual_events_per_day": usual,
                                       "expected_weekdays": sorted(int(w) for w in expected),
                                       "usual_share": p.usual_share}},
                first_seen=first.to_pydatetime(), last_seen=(last + pd.Timedelta(days=1)).to_pydatetime(),
            )
    return fb.findings
