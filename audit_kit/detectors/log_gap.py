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
from audit_kit.detectors.evidence import corrected, evidence_fields, score_of, severity_of, strength
from audit_kit.models.findings import Finding

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from audit_kit.detectors.context import DetectionContext


class LogGapParams(Params):
    min_gap_days: int = 2
    usual_share: float = 0.8
    min_baseline_days: int = 14
    shared_share: float = 0.5


def log_gap(ctx: DetectionContext, p: LogGapParams) -> list[Finding]:
    """An organisation whose logs normally arrive every working day sends nothing for several days.

    For each organisation and weekday, the baseline share of days with any event is learnt; a
    weekday is "expected" when that share is at least 80%. A run of at least `min_gap_days`
    expected days with no events in the window (other days in between do not break the run) is a
    finding about the organisation (user_id null). A day on which at least `shared_share` of the
    organisations of the same type that expect it are silent too (a school holiday, a bank holiday)
    is a calendar day, not a gap. Strength: the chance of so many silent expected days at the
    organisation's usual presence on those weekdays, corrected for the window's expected days.
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
    df["n"] = pd.to_numeric(df["n"].astype(object), errors="coerce").fillna(0).astype(float)
    base_start = max(pd.Timestamp(ctx.baseline_start), pd.Timestamp(ctx.data_start)).normalize()
    base_days = pd.date_range(base_start, pd.Timestamp(ctx.baseline_end).normalize() - pd.Timedelta(days=1),
                              freq="D")
    win_end = min(pd.Timestamp(ctx.until), pd.Timestamp(ctx.data_end) + pd.Timedelta(microseconds=1))
    win_days = pd.date_range(pd.Timestamp(ctx.since).normalize(), (win_end - pd.Timedelta(microseconds=1)).normalize(),
                             freq="D")
    if len(base_days) < p.min_baseline_days or len(win_days) == 0:
        return []
    types = dict(ctx.orgs.select("org_id", "org_type").to_pandas().itertuples(index=False, name=None))
    plans = _plans(df, base_start, base_days, win_days, p)
    # Days most organisations of a type are silent on are calendar days for that type.
    silent_share: dict[tuple[object, pd.Timestamp], float] = {}
    for d in win_days:
        per_type: dict[object, list[bool]] = {}
        for org, (expected, active, _, _) in plans.items():
            if d.day_of_week in expected:
                per_type.setdefault(types.get(org), []).append(d not in active)
        for t, flags in per_type.items():
            silent_share[(t, d)] = sum(flags) / len(flags) if len(flags) >= 3 else 0.0
    fb = FindingBuilder(ctx, "log_gap")
    for org, (expected, active, usual, bdays) in plans.items():
        n_expected = sum(1 for d in win_days if d.day_of_week in expected)
        runs: list[list[pd.Timestamp]] = []
        cur: list[pd.Timestamp] = []
        for d in win_days:
            if d.day_of_week not in expected or silent_share.get((types.get(org), d), 0.0) >= p.shared_share:
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
            pv = 1.0
            for d in run:
                pv *= max(1.0 - expected[d.day_of_week], 0.1 / max(len(bdays) / 7.0, 1.0))
            pv = corrected(pv, max(n_expected, 1))
            st = strength(pv)
            fb.add(
                org_id=str(org), user_id=None, bucket=str(first.date()), severity=severity_of(st), score=score_of(st),
                summary=(f"Organisation {org} sent no access logs on {len(run)} working days from {first.date()} "
                         f"to {last.date()}, though it normally logs about {usual:,.0f} events a day."),
                evidence={"silent_expected_days": len(run), "from": str(first.date()), "to": str(last.date()),
                          "baseline": {"days": len(bdays), "usual_events_per_day": usual,
                                       "expected_weekdays": sorted(expected),
                                       "presence_share": {str(k): round(v, 3) for k, v in sorted(expected.items())},
                                       "usual_share": p.usual_share},
                          **evidence_fields(pv, st, "the organisation's presence on those weekdays, corrected for "
                                            "the window's expected days")},
                first_seen=first.to_pydatetime(), last_seen=(last + pd.Timedelta(days=1)).to_pydatetime(),
            )
    return fb.findings


_Plan = tuple[dict[int, float], set[pd.Timestamp], float, pd.DatetimeIndex]


def _plans(df: pd.DataFrame, base_start: pd.Timestamp, base_days: pd.DatetimeIndex, win_days: pd.DatetimeIndex,
           p: LogGapParams) -> dict[str, _Plan]:
    """Each organisation's expected weekdays (baseline presence share per weekday at least `usual_share`),
    its active window days, its usual events a day (median over its active baseline days) and its baseline
    days — in organisation order. Every organisation's calendar at once: a loop of per-organisation frames
    cost seconds at a few hundred bodies on every scan.

    An organisation's history starts with its first baseline event (days before it are not silence); one
    with fewer than `min_baseline_days` baseline days, or no expected weekday, has no plan.
    """
    first = df[df.period == BASELINE].groupby("org_id").day.min()
    if first.empty:
        return {}
    org_start = first.clip(lower=base_start)
    cal = pd.MultiIndex.from_product([org_start.index, base_days], names=["org_id", "day"]).to_frame(index=False)
    cal = cal[cal.day >= cal.org_id.map(org_start)]
    n_days = cal.groupby("org_id").size()
    cal = cal[cal.org_id.isin(n_days.index[n_days >= p.min_baseline_days])]
    seen = pd.MultiIndex.from_frame(df[["org_id", "day"]])
    cal["active"] = pd.MultiIndex.from_frame(cal[["org_id", "day"]]).isin(seen)
    cal["wd"] = cal.day.dt.day_of_week
    share = cal.groupby(["org_id", "wd"]).active.mean()
    share = share[share >= p.usual_share]
    if share.empty:
        return {}
    per_day = df.groupby(["org_id", "day"], as_index=False).n.sum()
    in_base = pd.MultiIndex.from_frame(per_day[["org_id", "day"]]).isin(pd.MultiIndex.from_frame(cal[["org_id", "day"]]))
    usual = per_day[in_base].groupby("org_id").n.median()
    win = df[df.day.isin(win_days)].groupby("org_id").day.agg(lambda d: set(d))
    plans: dict[str, _Plan] = {}
    for org, grp in share.groupby(level="org_id", sort=True):
        expected = {int(wd): float(v) for (_, wd), v in grp.items()}
        bdays = base_days[base_days >= org_start[org]]
        plans[str(org)] = (expected, win.get(org, set()), float(usual.get(org, float("nan"))), bdays)
    return plans
