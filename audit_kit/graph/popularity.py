"""Per-record popularity: how many distinct users and bodies read each child, window by window.

This is the signal behind `vip_snooping`: a child in the news is suddenly read by many unrelated
people. Records are reported by pseudonym only; raw ids never leave the engine.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import timedelta

import ibis

from audit_kit.graph.aggregates import events_in
from audit_kit.graph.window import Window
from audit_kit.store.workspace import Workspace

_DAY = timedelta(days=1)


def _epoch(window: Window) -> int:
    """Seconds since 1970 of the window start (naive datetimes are UTC here, as in `events`)."""
    return calendar.timegm(window.since.timetuple())


@dataclass(frozen=True)
class RecordPopularity:
    """One record's reach: distinct users and bodies in the window, in the baseline, and per bucket."""

    record: str  # pseudonym
    users: int
    orgs: int
    events: int
    baseline_users: int
    baseline_orgs: int
    # (bucket start ISO date, distinct users, distinct bodies), window buckets only
    series: tuple[tuple[str, int, int], ...] = ()

    @property
    def growth(self) -> float:
        """Distinct users in the window over those in the (same-length) baseline, floor 1."""
        return self.users / max(1, self.baseline_users)


def record_popularity(
    ws: Workspace,
    window: Window,
    top: int = 20,
    record_id: str | None = None,
    bucket_days: int = 7,
) -> list[RecordPopularity]:
    """The `top` records read by the most distinct users in the window (or just `record_id`, raw id).

    Baseline counts are over the same-length period before the window. Computed in the engine:
    one grouped pass over the window, then baseline and per-bucket counts for the top records only.
    """
    base = window.preceding()
    ev = events_in(ws, window)
    if record_id is not None:
        ev = ev.filter(ev.record_id == record_id)
    per = ev.group_by("record_id").aggregate(
        users=ev.user_id.nunique(), orgs=ev.org_id.nunique(), events=ev.count()
    )
    # Ties broken by pseudonym, so the order is stable without exposing raw ids.
    per = per.mutate(record=ws.pseudonymise_expr(per.record_id))
    per = per.order_by([ibis.desc("users"), ibis.desc("orgs"), "record"]).limit(top)
    # The baseline and the per-bucket series only for the top records (a semi-join, not a second full pass).
    b = events_in(ws, base)
    b = b.join(per.select("record_id"), "record_id")
    before = b.group_by("record_id").aggregate(baseline_users=b.user_id.nunique(), baseline_orgs=b.org_id.nunique())
    per = per.left_join(before, "record_id").select(
        per.record_id, per.record, per.users, per.orgs, per.events,
        baseline_users=before.baseline_users.fill_null(0), baseline_orgs=before.baseline_orgs.fill_null(0),
    )
    w = ev.join(per.select("record_id", "record"), "record_id")
    bucket = ((w.timestamp.epoch_seconds() - _epoch(window)) // (bucket_days * 86400)).cast("int64")
    series = w.group_by(w.record, bucket=bucket).aggregate(users=w.user_id.nunique(), orgs=w.org_id.nunique())
    top_df = per.drop("record_id").to_pandas().sort_values(["users", "orgs", "record"], ascending=[False, False, True])
    ser_df = series.to_pandas().sort_values(["record", "bucket"])
    by_rec: dict[str, list[tuple[str, int, int]]] = {}
    for r in ser_df.itertuples():
        start = window.since + (bucket_days * int(r.bucket)) * _DAY
        by_rec.setdefault(r.record, []).append((start.date().isoformat(), int(r.users), int(r.orgs)))
    return [
        RecordPopularity(
            record=r.record, users=int(r.users), orgs=int(r.orgs), events=int(r.events),
            baseline_users=int(r.baseline_users), baseline_orgs=int(r.baseline_orgs),
            series=tuple(by_rec.get(r.record, ())),
        )
        for r in top_df.itertuples()
    ]
