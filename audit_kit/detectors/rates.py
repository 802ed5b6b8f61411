"""Rate detectors: more of something than the user and their peers normally do.

volume_spike, bulk_access, export_spike, failed_login_burst, denied_spike, search_fishing — each a
metric over the shared `user_hour` aggregate judged by `baseline.spikes()`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from audit_kit.detectors.base import FindingBuilder, Params
from audit_kit.detectors.baseline import Metric, baseline_evidence, spikes
from audit_kit.detectors.context import BASELINE, WINDOW, matches_any
from audit_kit.detectors.evidence import CUTOFFS, KEPT_LOW, evidence_fields, score_of, severity_of
from audit_kit.models.findings import Finding, Severity

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from audit_kit.detectors.context import DetectionContext


def _exempt(ctx: DetectionContext, det_id: str) -> Callable[[ir.Table], ir.BooleanValue]:
    """A keep-filter dropping roles and org types the config exempts from this detector."""
    dc = ctx.config.detector(det_id)

    def keep(x: ir.Table) -> ir.BooleanValue:
        cond = ~matches_any(x.role, dc.exempt_roles)
        if dc.exempt_org_types:
            cond = cond & ~x.org_type.isin(list(dc.exempt_org_types))
        return cond

    return keep


def _bucket_label(ts: datetime, grain: str) -> str:
    return ts.strftime("%Y-%m-%d" if grain == "day" else "%Y-%m-%d %H:00 local time")


def _spike_findings(
    ctx: DetectionContext, det_id: str, p: SpikeParams, metric: Metric, unit: str, what: str, grain: str = "day",
    keep: Callable[[ir.Table], ir.BooleanValue] | None = None,
    explain: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> list[Finding]:
    """Findings from `spikes()`; `explain` may keep more rows below medium as expected work (it sets their
    `expected` and caps their strength) and add evidence columns (`ev_*`)."""
    base_keep = _exempt(ctx, det_id)

    def both(x: ir.Table) -> ir.BooleanValue:
        return base_keep(x) & keep(x) if keep is not None else base_keep(x)

    df = spikes(
        ctx, metric, name=det_id, grain=grain, quantile=p.quantile, floor=p.floor, user_factor=p.user_factor,
        peer_factor=p.peer_factor, min_support=p.min_support, z_min=p.z_min, keep=both,
    )
    df = _synchronous(df, p.synchronous_share)
    entitled = _entitled(ctx, df) if p.entitled_low else pd.Series(False, index=df.index, dtype=bool)
    if entitled.any():
        df.loc[entitled, "strength"] = df.loc[entitled, "strength"].clip(upper=KEPT_LOW)
        df.loc[entitled & (df.expected == ""), "expected"] = "a reader entitled to this volume"
    if explain is not None and not df.empty:
        df = explain(df)
    extra = [c for c in df.columns if c.startswith("ev_")]
    fb = FindingBuilder(ctx, det_id)
    for row in df.itertuples(index=False):
        r = row._asdict()
        basis = max(r["u_q"] if r["u_q"] == r["u_q"] and r["u_q"] is not None else 0,
                    r["p_q"] if r["p_q"] == r["p_q"] and r["p_q"] is not None else 0, 1.0)
        st = float(r["strength"])
        label = _bucket_label(r["bucket"], grain)
        shared = int(r["synchronous"])
        fb.add(
            org_id=r["org_id"], user_id=r["user_id"], bucket=label, severity=severity_of(st), score=score_of(st),
            summary=(f"{r['user_id']} ({r['role']}) {what} {int(r['v']):,} {unit} on {label}, "
                     f"against a usual high of {basis:,.0f} for them and their peers"
                     + (f"; {shared} of their peers did the same that day (a shared event, such as a return)."
                        if shared >= 3 and st < CUTOFFS.medium else ".")),
            evidence={"bucket": label, "value": r["v"], **baseline_evidence(r, p.quantile, unit),
                      "peers_spiking_same_day": shared,
                      **{c[3:]: r[c] for c in extra if r[c] == r[c] and r[c] is not None},
                      # kept below medium as expected work: it corroborates nothing (detectors/risk.py)
                      **({"expected_work": r["expected"]} if r["expected"] else {}),
                      **evidence_fields(float(r["p_value"]), st, "negative binomial: the user's and the peer group's "
                                        "baseline buckets, corrected for the window's buckets")},
            record_count=int(r["v"]) if unit.startswith("record") else 0,
            first_seen=r["first_hour"], last_seen=r["last_hour"],
        )
    return fb.findings


def _entitled(ctx: DetectionContext, df: pd.DataFrame) -> pd.Series:
    """Rows of readers entitled to read anywhere (national partners, MASH) or to return in bulk (data
    officers): their volume varies with the task."""
    from audit_kit.config import role_matches

    ent = ctx.config.entitlements
    roles = ent.cross_area_roles + ent.system_roles + ent.bulk_export_roles
    by_role = df.role.map(lambda r: role_matches(r if isinstance(r, str) else None, roles)).astype(bool)
    return df.org_type.isin(list(ent.cross_area_org_types)).astype(bool) | by_role


def _synchronous(df: pd.DataFrame, share: float) -> pd.DataFrame:
    """Mark spikes a good part of the peer group shared on the same day (a census or annual return):
    a calendar event, not one person's behaviour; their strength is capped below medium."""
    if df.empty:
        return df.assign(synchronous=[], expected=[])
    day = pd.to_datetime(df.bucket).dt.normalize()
    n = df.assign(_day=day).groupby(["org_type", "role", "_day"]).user_id.transform("nunique")
    df["synchronous"] = n.astype(int)
    shared = (n >= 3) & (n >= share * df.p_users.fillna(0))
    df.loc[shared, "strength"] = df.loc[shared, "strength"].clip(upper=KEPT_LOW)
    df["expected"] = ""
    df.loc[shared, "expected"] = "a day the peer group shared"
    return df


class SpikeParams(Params):
    synchronous_share: float = 0.25
    entitled_low: bool = False
    quantile: float = 0.99
    floor: float = 30
    user_factor: float = 2.0
    peer_factor: float = 2.0
    min_support: int = 5
    z_min: float = 4.0


class VolumeParams(SpikeParams):
    entitled_low: bool = True
    floor: float = 60
    # A day whose records the user wrote on as they usually do is busy work, kept low (`_worked_as_usual`).
    work_explains: bool = True
    worked_share_ratio: float = 0.5
    worked_min_usual: float = 0.2
    user_factor: float = 2.5
    peer_factor: float = 1.0
    z_min: float = 5.0


def volume_spike(ctx: DetectionContext, p: VolumeParams) -> list[Finding]:
    """A day on which a user opened far more children's records than they and their peers normally do.

    Daily successful record accesses in the window above a floor of 60, the user's own bar (2.5 × the
    99th percentile of their active days, median/MAD robust z ≥ 5) and their peer group's
    (organisation type + role) 99th percentile are candidates; the strength is how improbable the
    day is for the user AND the peers (see `bulk_access`). A burst of readers entitled to read
    anywhere (national partners, MASH) or to make returns in bulk (`entitlements.bulk_export_roles`:
    data officers and managers by default) is kept low (`entitled_low`), as is a day the peer group shared
    (`synchronous_share` of them spiking the same day: a return, an inspection season), and a day of
    the user's own work (`work_explains`): they wrote on (created or updated) the records they opened
    at no less than `worked_share_ratio` (0.5) of their usual share, where that share is at least
    `worked_min_usual` (0.2) — a duty week on the front door writes as it reads; a trawl reads only
    (on the independent tuning worlds every misuse spike wrote on under a fifth of what it opened, duty
    weeks on half or more). One finding per user-day.
    """
    return _spike_findings(ctx, "volume_spike", p, lambda x: x.n_rec.sum(), "record accesses", "made",
                           explain=(lambda df: _worked_as_usual(ctx, df, p)) if p.work_explains else None)


def _worked_as_usual(ctx: DetectionContext, df: pd.DataFrame, p: VolumeParams) -> pd.DataFrame:
    """Keep below medium the spike days on which the user wrote on (created or updated) the records they
    opened at no less than `worked_share_ratio` of their usual share, where that share is at least
    `worked_min_usual`: a busy day of their own work (a duty week on the front door), not browsing.

    The share is of the day's successful record accesses that fell on records the user worked on the
    same UTC day, from the kept `records` aggregate; the usual share is the same over the baseline days.
    Only the candidate users are read, so the cost is that of the few spikes. Someone who reads without
    writing (an extraction, a trawl) keeps the spike's strength; writing on a record is a trace.
    """
    users = sorted(df.user_id.dropna().unique().tolist())
    if not users:
        return df

    def shares(period: str, by_day: bool) -> pd.DataFrame:
        r = ctx.daily("records", period)
        r = r.filter(r.user_id.isin(users), r.n_ok > 0)
        keys = [r.user_id, r.day] if by_day else [r.user_id]
        g = r.group_by(keys).aggregate(n=r.n_ok.sum(), worked=r.n_ok.sum(where=r.n_work > 0))
        out = g.to_pandas()
        out["share"] = out.worked.fillna(0).astype(float) / out.n.astype(float).clip(lower=1.0)
        return out

    day = shares(WINDOW, True)
    day["day"] = pd.to_datetime(day["day"]).dt.date
    usual = shares(BASELINE, False).set_index("user_id").share
    key = pd.Series(list(zip(df.user_id, pd.to_datetime(df.bucket).dt.date, strict=True)), index=df.index)
    day_share = key.map(dict(zip(zip(day.user_id, day.day, strict=True), day.share, strict=True)))
    usual_share = df.user_id.map(usual)
    df = df.assign(ev_worked_on_share=day_share.round(3), ev_usual_worked_on_share=usual_share.round(3))
    busy = (usual_share >= p.worked_min_usual) & (day_share >= p.worked_share_ratio * usual_share)
    busy = busy.fillna(False).astype(bool) & (df.expected == "")
    if busy.any():
        df.loc[busy, "strength"] = df.loc[busy, "strength"].clip(upper=KEPT_LOW)
        df.loc[busy, "expected"] = "a busy day of their own work: records written on as usual"
    return df


class BulkParams(SpikeParams):
    entitled_low: bool = True
    floor: float = 50
    user_factor: float = 3.0
    peer_factor: float = 3.0


def bulk_access(ctx: DetectionContext, p: BulkParams) -> list[Finding]:
    """Bulk retrieval: one hour in which a user pulled far more records than anyone in their role does.

    The unit is record accesses per local hour plus the rows returned by that hour's searches
    (allow-listed work such as statutory returns left out), above the user's and peers' hourly 99th
    percentile × 3 and a floor of 50: the signature of an extraction (HMRC-style) rather than a busy
    day. Strength (all rate detectors): the count is negative binomial with the user's baseline mean
    and the peer group's dispersion, and again with the peers' mean; the bucket must be improbable
    against both, corrected for the user's window buckets. (Accesses, not distinct records: a distinct count per user-hour would
    double the cost of the shared scan, and a scripted extraction reads each record once anyway.)
    """
    return _spike_findings(
        ctx, "bulk_access", p, lambda x: (x.n_rec + x.n_search_rows).sum(),
        "records in one hour", "retrieved", grain="hour",
    )


class ExportParams(SpikeParams):
    floor: float = 10


def export_spike(ctx: DetectionContext, p: ExportParams) -> list[Finding]:
    """A day with far more exports and prints than the user and their peers normally make.

    Exports whose purpose is allow-listed (statutory returns by default) and roles the config
    entitles to bulk export are left out; the rest are counted per day (export/print events plus
    the rows they carried) and judged against the user's and peers' 99th percentile.
    """
    return _spike_findings(
        ctx, "export_spike", p, lambda x: (x.n_export + x.n_export_rows).sum(), "exported records/files",
        "exported or printed", keep=lambda x: ~x.bulk_role,
    )


class FailedLoginParams(SpikeParams):
    floor: float = 8
    user_factor: float = 3.0
    peer_factor: float = 3.0


def failed_login_burst(ctx: DetectionContext, p: FailedLoginParams) -> list[Finding]:
    """A burst of failed logins on one account within an hour (password guessing or a shared account).

    Failed or denied logins per user-hour against the user's and peers' hourly 99th percentile × 3
    and a floor of 8.
    """
    return _spike_findings(
        ctx, "failed_login_burst", p, lambda x: x.n_failed_login.sum(), "failed logins", "had", grain="hour",
    )


class DeniedParams(SpikeParams):
    floor: float = 4


def denied_spike(ctx: DetectionContext, p: DeniedParams) -> list[Finding]:
    """A day on which a user was refused access far more often than usual: probing beyond their permissions.

    Denied non-login actions per user-day against the user's and peers' 99th percentile × 2, floor 4.
    Refusals are rare in ordinary work, so a handful in a day from someone who is almost never refused is
    already improbable: the strength (the negative-binomial tail against the user and the peers) decides,
    and the low floor lets probing spread thinly over several days (five a day) be seen at all.
    """
    return _spike_findings(ctx, "denied_spike", p, lambda x: x.n_denied.sum(), "denied requests", "had")


class SearchParams(SpikeParams):
    floor: float = 12
    max_followup: float = 0.5


def _searches(x: ir.Table) -> ir.IntegerValue:
    """Searches for a purpose the allow-list does not name (an inspection's or a return's are expected)."""
    return x.n_search - x.n_search_allowed


def search_fishing(ctx: DetectionContext, p: SearchParams) -> list[Finding]:
    """Name-fishing: a day of far more searches than usual that did not lead to matching record work.

    Searches per user-day above the floor (12) and the user's and peers' 99th percentile × 2, on a day
    when the records opened per search fell to at most `max_followup` (half) of the user's own
    baseline ratio — looking for someone, not working a case (a busy day raises both). Searches for an
    allow-listed purpose (an inspection's sample, a statutory return) are left out, as `bulk_access`
    leaves out their rows. The floor is low: fishing spread over several days in a dozen or two
    searches a day is what is seen, and the strength decides.
    """
    def learn_ratio() -> ir.Table:
        b = ctx.user_day(BASELINE)
        return b.group_by(b.user_id).aggregate(views=b.n_view.sum(), searches=_searches(b).sum())

    # Learnt (or read) whether or not today has a candidate, so that the epoch's first run learns it.
    learnt = ctx.learnt("search_fishing:views_per_search", learn_ratio)
    found = _spike_findings(ctx, "search_fishing", p, lambda x: _searches(x).sum(), "searches", "ran")
    if not found:
        return found
    users = sorted({f.user_id for f in found if f.user_id})
    base = learnt.filter(learnt.user_id.isin(users)).to_pandas().set_index("user_id")
    uw = ctx.user_day(WINDOW)
    uw = uw.filter(uw.user_id.isin(users))
    days = uw.group_by(uw.user_id, uw.day).aggregate(views=uw.n_view.sum(), searches=_searches(uw).sum())
    win = {(r.user_id, r.day.strftime("%Y-%m-%d")): (int(r.views), int(r.searches))
           for r in days.to_pandas().itertuples(index=False)}
    out: list[Finding] = []
    for f in found:
        v, s = win.get((f.user_id, f.evidence["bucket"]), (0, 0))
        b_v = float(base.views.get(f.user_id, 0.0)) if len(base) else 0.0
        b_s = float(base.searches.get(f.user_id, 0.0)) if len(base) else 0.0
        base_ratio = (b_v + 1.0) / (b_s + 1.0)
        day_ratio = v / max(s, 1)
        if day_ratio <= p.max_followup * base_ratio:
            f.evidence.update({"views_that_day": v, "views_per_search": round(day_ratio, 3),
                               "baseline_views_per_search": round(base_ratio, 3)})
            f.summary = (f.summary.rstrip(".") + f", opening {day_ratio:.1f} records per search where "
                         f"{base_ratio:.1f} is usual for them.")
            out.append(f)
    return out


__all__ = [
    "Severity", "volume_spike", "bulk_access", "export_spike", "failed_login_burst", "denied_spike",
    "search_fishing",
]
