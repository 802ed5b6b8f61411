"""The context every detector runs in: the window, the baseline, the config and the shared aggregates.

Detectors never scan `events` (one exception: `after_hours` reads its flagged users' window events for the
local hour each child's record was opened, which no kept aggregate holds). The context reads the per-day aggregates every consumer shares
(`audit_kit.engine.aggregates`: kept in the DuckDB workspace, computed on the fly by Spark) for the days of
baseline + window and re-aggregates them once per run into temporary tables every detector reads:

* `user_hour`  — one row per user, organisation, period (baseline / window) and local hour: counts of each
  kind of activity;
* `user_record` — one row per user, child record and period: how often and when;

plus one small pass over the window alone (`sessions`, for overlapping sessions). Everything else
(per-user baselines, peer groups, org-day volumes, explained access) is an Ibis expression over
these, so adding a detector adds no scan of anything. Windows cut at UTC midnights (the default, and
every scheduled scan) read whole days of the kept aggregates; a window given to the second is
aggregated from the events of its period instead (the same definitions, so the same numbers). The context
keeps run aggregates through its engine (temp tables on the workspace's DuckDB connection by default,
cached views on Spark), and `cleanup()` drops them.

(Why this module runs past 400 lines: the one place that knows the window, the baseline epochs and every
shared aggregate the detectors read; splitting it would give the detectors two places to learn a baseline.)
"""

from __future__ import annotations

import hashlib
import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis

from audit_kit.config import AuditConfig
from audit_kit.detectors.reviewed import explanation_scopes, with_reviewed
from audit_kit.engine.aggregates import (
    BASELINE,
    DAILY,
    WINDOW,
    matches_any,
    period_activity,
    period_records,
)
from audit_kit.engine.duckdb import DuckDBEngine
from audit_kit.vocab import (
    LINGERING_GRACE_DAYS,
    baseline_end,
    default_window,
    is_day_aligned,
    lingering_grace_days,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from audit_kit.engine.base import Engine
    from audit_kit.store.workspace import Workspace

_COUNTER = itertools.count()
_CODE: dict[str, str] = {}
# Modules whose code shapes every learnt statistic (besides the detector's own module).
_SHARED_CODE = ("audit_kit.detectors.context", "audit_kit.detectors.baseline", "audit_kit.engine.aggregates",
                "audit_kit.vocab")


def _code_stamp(fn: Callable[..., Any]) -> str:
    """A fingerprint of the code a learnt statistic comes from: a change to the detector's module or the
    shared aggregates makes kept baselines learnt by older code unusable."""
    parts = []
    for mod in sorted({getattr(fn, "__module__", "") or "", *_SHARED_CODE}):
        if mod not in _CODE:
            module = sys.modules.get(mod)
            path = getattr(module, "__file__", None)
            _CODE[mod] = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16] if path else mod
        parts.append(_CODE[mod])
    return ":".join(parts)

RECENT = "recent"
# A user missing from users.csv: read in a finding as "u123 (role unknown)".
UNKNOWN_ROLE = "role unknown"

__all__ = ["BASELINE", "LINGERING_GRACE_DAYS", "RECENT", "UNKNOWN_ROLE", "WINDOW", "DetectionContext", "matches_any"]


@dataclass
class DetectionContext:
    """Window, baseline and shared aggregates for one detection run (build with `DetectionContext.build`).

    `engine` runs the queries (default: DuckDB over `ws`); `ws` is where results are stored and whose
    key pseudonymises record ids. Detectors read tables with `table()`, never from `ws` directly.
    """

    ws: Workspace
    config: AuditConfig
    since: datetime
    until: datetime
    baseline_start: datetime
    data_start: datetime
    data_end: datetime
    engine: Engine = None  # type: ignore[assignment]  # set in __post_init__
    # Where the baseline ends: the start of the window's baseline epoch (`vocab.baseline_end`), at or
    # before `since`. The days between (RECENT) are neither learnt from nor judged; None means `since`.
    baseline_end: datetime = None  # type: ignore[assignment]  # set in __post_init__
    _cache: dict[str, Any] = field(default_factory=dict)
    _temp: list[str] = field(default_factory=list)
    _tag: str = field(default_factory=lambda: f"{next(_COUNTER)}")

    def without_exempt(self, det_id: str, x: ir.Table) -> ir.Table:
        """Rows of `x` (with role and org_type) minus those the config exempts from `det_id`."""
        dc = self.config.detector(det_id)
        if dc.exempt_roles:
            x = x.filter(~matches_any(x.role, dc.exempt_roles))
        if dc.exempt_org_types:
            x = x.filter(~x.org_type.isin(list(dc.exempt_org_types)))
        return x

    def __post_init__(self) -> None:
        if self.engine is None:
            self.engine = DuckDBEngine(self.ws)
        if self.baseline_end is None:
            self.baseline_end = self.since

    @classmethod
    def build(
        cls, ws: Workspace, config: AuditConfig, since: datetime | None, until: datetime | None,
        engine: Engine | None = None,
    ) -> DetectionContext:
        """Resolve the window (default: the last `window_days` whole UTC days of the data, the last event's
        day included), the baseline epoch it starts in, and the baseline before that epoch.

        The baseline ends where the window's epoch starts (`vocab.baseline_end`: epochs of
        `baseline_refresh_days`), so every window starting in the same epoch shares one baseline, learnt
        once and kept (`learnt`).
        """
        engine = engine or DuckDBEngine(ws)
        lo, hi = engine.time_span()
        if lo is None or hi is None:
            lo = hi = datetime(1970, 1, 1)
        d_since, d_until = default_window(hi, config)
        until = until or d_until
        since = since or d_since
        end = min(baseline_end(since, config), since)
        baseline_start = end - timedelta(days=config.baseline_days)
        return cls(ws, config, since, until, baseline_start, lo, hi, engine, baseline_end=end)

    def table(self, name: str) -> ir.Table:
        """A canonical table (events, organisations, users, subjects, involvements) on the context's engine."""
        return self.engine.table(name)

    def pseudonymise_expr(self, column: ir.StringValue) -> ir.StringValue:
        """The workspace's keyed record pseudonym as a portable Ibis expression (computed in the engine)."""
        return self.ws.pseudonymise_expr(column)

    # -- helpers -----------------------------------------------------------------------------
    @property
    def window_days(self) -> float:
        return max((min(self.until, self.data_end) - self.since).total_seconds() / 86400, 1 / 24)

    @property
    def baseline_days(self) -> float:
        start = max(self.baseline_start, self.data_start)
        return max((self.baseline_end - start).total_seconds() / 86400, 0.0)

    def has_data(self, table: str, column: str | None = None) -> bool:
        """True when the table has rows (and, with `column`, at least one non-null value in it)."""
        key = f"has:{table}.{column}"
        if key not in self._cache:
            cols = self.engine.columns(table)
            if not cols or (column is not None and column not in cols):
                self._cache[key] = False
            else:
                self._cache[key] = self.engine.has_rows(table, column)
        return bool(self._cache[key])

    def materialise(self, name: str, expr: ir.Table) -> ir.Table:
        """Compute `expr` into a temporary table and return it as a fresh Ibis table.

        Used for intermediate aggregates several queries read: it also keeps each compiled query
        small (Ibis compile time grows with the expression tree, and is the main fixed cost).
        """
        return self._materialise(f"{name}_{next(_COUNTER)}", expr)

    def _materialise(self, name: str, expr: ir.Table) -> ir.Table:
        tname = f"_ak_{name}_{self._tag}"
        self._temp.append(tname)
        return self.engine.materialise(tname, expr)

    def cleanup(self) -> None:
        """Drop this run's temporary aggregate tables (the engine itself stays open: its owner closes it)."""
        for tname in self._temp:
            self.engine.drop(tname)
        self._temp.clear()

    # -- reference tables ------------------------------------------------------------------------
    @property
    def orgs(self) -> ir.Table:
        """Organisations with their working hours as minutes after local midnight (config default)."""
        if "orgs" not in self._cache:
            o = self.table("organisations")
            d0, d1 = self.config.working_hours.minutes
            wh = o.working_hours.strip()
            ok = wh.re_search(r"^\d\d:\d\d-\d\d:\d\d$").fill_null(False)
            start = (wh.substr(0, 2).cast("int32") * 60 + wh.substr(3, 2).cast("int32"))
            end = (wh.substr(6, 2).cast("int32") * 60 + wh.substr(9, 2).cast("int32"))
            self._cache["orgs"] = o.select(
                org_id=o.org_id,
                org_type=o.type,
                org_area=o.area,
                start_min=ibis.ifelse(ok, start, d0),
                end_min=ibis.ifelse(ok, end, d1),
            )
        return self._cache["orgs"]

    @property
    def users(self) -> ir.Table:
        """Users with the entitlement flags the config gives their roles."""
        if "users" not in self._cache:
            u = self.table("users")
            ent = self.config.entitlements
            allow_users = list(self.config.allow.users)
            self._cache["users"] = u.select(
                user_id=u.user_id,
                user_org=u.org_id,
                role=u.role,
                start_date=u.start_date,
                end_date=u.end_date,
                user_family_key=u.family_key,
                mfa_enrolled=u.mfa_enrolled,
                ooh_role=matches_any(u.role, ent.out_of_hours_roles),
                system_role=matches_any(u.role, ent.system_roles),
                cross_area_role=matches_any(u.role, ent.cross_area_roles) | matches_any(u.role, ent.system_roles),
                area_role=matches_any(u.role, ent.area_wide_roles),
                bulk_role=matches_any(u.role, ent.bulk_export_roles),
                allow_listed=u.user_id.isin(allow_users) if allow_users else ibis.literal(False),
            )
        return self._cache["users"]

    def events(self) -> ir.Table:
        """Events of baseline + window, tagged with their period. Only the two aggregates scan this."""
        e = self.table("events")
        e = e.filter(e.timestamp >= self.baseline_start, e.timestamp < self.until,
                     (e.timestamp < self.baseline_end) | (e.timestamp >= self.since))
        return e.mutate(period=ibis.ifelse(e.timestamp >= self.since, WINDOW, BASELINE))

    # -- the shared aggregates, per period --------------------------------------------------------
    # Each shared table exists in parts, computed only when a detector asks for one: the baseline part
    # ([baseline_start, baseline_end)) and the window part ([since, until)) — and RECENT, the days between.
    # Detectors judge the window part and learn from the baseline part through `learnt()`, whose results
    # are kept between runs: a run whose baselines are all kept never computes the baseline part at all.
    PARTS = ("user_hour", "user_record", "user_hour_x", "user_day", "user_record_x")

    def daily(self, name: str, period: str) -> ir.Table:
        """Per-day aggregate `name` over the days of `period`: kept whole days where the period is cut at UTC
        midnights, else the same definition over the period's events."""
        lo, hi = {BASELINE: (self.baseline_start, self.baseline_end), RECENT: (self.baseline_end, self.since),
                  WINDOW: (self.since, self.until)}[period]
        if is_day_aligned(lo) and is_day_aligned(hi):
            return self.engine.daily(name, lo.date(), hi.date())
        e = self.table("events")
        return DAILY[name].over(e.filter(e.timestamp >= lo, e.timestamp < hi))

    def part(self, name: str, period: str) -> ir.Table:
        """The `period` part (BASELINE, RECENT or WINDOW) of shared table `name` (one of PARTS), materialised
        once. RECENT holds the days between the end of the baseline and the window (empty when the window
        starts its epoch): history a detector may need as state (the last activity before the window), never
        learnt from."""
        if name not in self.PARTS or period not in (BASELINE, RECENT, WINDOW):
            raise KeyError(f"no shared table {name!r} for period {period!r}")
        key = f"{name}:{period}"
        if key not in self._cache:
            self._cache[key] = self._materialise(f"{name}_{period[0]}", self._build_part(name, period))
        return self._cache[key]

    def _build_part(self, name: str, period: str) -> ir.Table:
        purposes = self.config.allow.purposes
        if name == "user_hour":
            # Bucketed by the local wall-clock hour: working hours, days and hour-of-week are all
            # judged in the organisation's own time; first/last keep the UTC instants.
            return period_activity(self.daily("activity", period), purposes, period)
        if name == "user_record":
            return period_records(self.daily("records", period), purposes, period)
        if name == "user_hour_x":
            return self.hour_x(self.part("user_hour", period))
        if name == "user_day":
            return self._user_day(self.part("user_hour_x", period))
        return self._user_record_x(self.part("user_record", period))

    def _both(self, name: str, period: str | None) -> ir.Table:
        if period is not None:
            return self.part(name, period)
        key = f"{name}:both"
        if key not in self._cache:
            self._cache[key] = self.part(name, BASELINE).union(self.part(name, WINDOW))
        return self._cache[key]

    @property
    def user_hour(self) -> ir.Table:
        """Per user, org, period and local wall-clock hour (`hour`): activity counts and the UTC first/last
        instants (both periods; `part("user_hour", WINDOW)` for one)."""
        return self._both("user_hour", None)

    @property
    def sessions(self) -> ir.Table:
        """Per session in the window (`audit_kit.detectors.sessions.session_table`): user, org, network, method, span.

        The log's `session_id` where it has one, else sessions derived from account, network,
        authentication method and time gaps: one definition shared with the assessment's measures.
        A third, smaller pass over the window's events only (never the baseline): concurrent sessions
        need real overlaps, which hourly counts cannot show. `outside`: the session's network is not one of
        its organisation's own (`sessions.with_outside`), worked out once for every detector that weighs it.
        """
        if "sessions" not in self._cache:
            from audit_kit.detectors.sessions import session_table, with_outside

            e = self.table("events")
            e = e.filter(e.timestamp >= self.since, e.timestamp < self.until)
            self._cache["sessions"] = self._materialise("sessions", with_outside(session_table(e)))
        return self._cache["sessions"]

    def user_hour_x(self, period: str | None = None) -> ir.Table:
        """`user_hour` joined with users and orgs: role, org type, and the off-hours flag in local time
        (both periods, or the one given)."""
        return self._both("user_hour_x", period)

    def hour_x(self, uh: ir.Table) -> ir.Table:
        """Any per-local-hour table (`user_id`, `org_id`, `hour`: the local hour) with what `user_hour_x` adds:
        the user's role and entitlements, the organisation's type, and the off-hours flags."""
        u = self.users
        o = self.orgs
        j = uh.left_join(u, uh.user_id == u.user_id).left_join(o, uh.org_id == o.org_id)
        minute = j.hour.hour() * 60
        weekend = j.hour.day_of_week.index() >= 5
        off = (minute < j.start_min) | (minute >= j.end_min)
        if self.config.working_hours.weekend_is_out_of_hours:
            off = off | weekend
        return j.select(
            *[uh[c] for c in uh.columns],
            role=j.role.fill_null(UNKNOWN_ROLE),
            org_type=j.org_type.fill_null("(unknown)"),
            ooh_role=j.ooh_role.fill_null(False),
            system_role=j.system_role.fill_null(False),
            cross_area_role=j.cross_area_role.fill_null(False),
            bulk_role=j.bulk_role.fill_null(False),
            allow_listed=j.allow_listed.fill_null(False),
            off_hours=off.fill_null(False),
            # minutes outside working hours (0 inside, and at weekends when they count as off)
            off_by=ibis.greatest(j.start_min - (minute + 60), minute - j.end_min, 0).fill_null(0),
            weekend=weekend.fill_null(False),
            how=j.hour.day_of_week.index() * 24 + j.hour.hour(),
            # weekday / Saturday / Sunday × hour: 72 buckets, enough support for fringe hours
            dhow=ibis.least(j.hour.day_of_week.index(), 4) * 24 + j.hour.hour(),
            day=j.hour.date(),
        )

    def user_day(self, period: str | None = None) -> ir.Table:
        """`user_hour_x` rolled up to the local day (the day-grain detectors share it)."""
        return self._both("user_day", period)

    @staticmethod
    def _user_day(x: ir.Table) -> ir.Table:
        sums = {c: x[c].sum() for c in x.columns if c.startswith("n")}
        return x.group_by(
            "user_id", "org_id", "period", "day", "role", "org_type", "ooh_role", "system_role",
            "cross_area_role", "bulk_role", "allow_listed",
        ).aggregate(first_ts=x.first_ts.min(), last_ts=x.last_ts.max(), **sums)

    @property
    def user_record(self) -> ir.Table:
        """Per user, org, child record and period: successful record accesses, first/last time, exports, overrides."""
        return self._both("user_record", None)

    def involvement_spans(self, records: ir.Column | None = None) -> ir.Table:
        """One row per (record, org): earliest start, latest end (null when any involvement is open). With
        `records`, only for those records: a day's window reads a few thousand children, and grouping every
        involvement in the register for them cost a scan more than its day's reads did."""
        i = self.table("involvements")
        if records is not None:
            i = i.filter(i.record_id.isin(records))
        return i.group_by(inv_record=i.record_id, inv_org=i.org_id).aggregate(
            inv_start=i.start_date.min(),
            inv_end=i.end_date.max(),
            inv_open=i.end_date.isnull().any(),
        )

    def user_record_x(self, period: str | None = None) -> ir.Table:
        """`user_record` with why each access is (or is not) explained, and the child's attributes.

        Columns added: role, org_type, org_area, home_area, shielded, subject_family_key,
        user_family_key, involved (an involvement active at the time), ended (the org's involvement
        had ended before the access), entitled (role/org type entitled across areas), allowed
        (allow-listed user or purpose), explained, out_of_area.
        """
        return self._both("user_record_x", period)

    def _user_record_x(self, ur: ir.Table) -> ir.Table:
        u = self.users
        o = self.orgs
        j = ur.left_join(u, ur.user_id == u.user_id).left_join(o, ur.org_id == o.org_id)
        if self.has_data("subjects"):
            s = self.table("subjects")
            s = s.select(s_record=s.record_id, home_area=s.home_area, shielded=s.shielded,
                         subject_family_key=s.family_key)
            j = j.left_join(s, j.record_id == s.s_record)
        else:
            j = j.mutate(home_area=ibis.null("string"), shielded=ibis.literal(False),
                         subject_family_key=ibis.null("string"))
        grace = int(self._param_grace())
        if self.has_data("involvements"):
            iv = self.involvement_spans(ur.record_id)
            j = j.left_join(iv, (j.record_id == iv.inv_record) & (j.org_id == iv.inv_org))
            has_inv = j.inv_org.notnull()
            first_d = j.first_ts.date()
            last_d = j.last_ts.date()
            started = j.inv_start.isnull() | (j.inv_start <= last_d)
            not_ended = j.inv_open.fill_null(False) | j.inv_end.isnull() | (
                j.inv_end >= (first_d - ibis.interval(days=grace))
            )
            involved = has_inv & started & not_ended
            ended = has_inv & ~j.inv_open.fill_null(False) & j.inv_end.notnull() & (j.inv_end < first_d)
            inv_end = j.inv_end
        else:
            involved = ibis.literal(False)
            ended = ibis.literal(False)
            inv_end = ibis.null("date")
        in_area = (j.home_area.notnull() & (j.home_area == j.org_area)).fill_null(False)
        entitled = (
            j.cross_area_role.fill_null(False)
            | j.org_type.isin(list(self.config.entitlements.cross_area_org_types)).fill_null(False)
            | (j.area_role.fill_null(False) & in_area)
        )
        allowed = j.allow_listed.fill_null(False) | j.allowed_purpose.fill_null(False)
        x = j.select(
            *[ur[c] for c in ur.columns],
            role=j.role.fill_null(UNKNOWN_ROLE),
            org_type=j.org_type.fill_null("(unknown)"),
            org_area=j.org_area,
            home_area=j.home_area,
            shielded=j.shielded.fill_null(False),
            subject_family_key=j.subject_family_key,
            user_family_key=j.user_family_key,
            involved=involved.fill_null(False),
            ended=ended.fill_null(False),
            inv_end=inv_end,
            entitled=entitled,
            allowed=allowed,
        )
        x = with_reviewed(self, x)  # reviewers' explanations (docs/review.md) count as allowed
        return x.mutate(
            explained=x.involved | x.entitled | x.allowed,
            out_of_area=(x.home_area.notnull() & x.org_area.notnull() & (x.home_area != x.org_area)).fill_null(False),
        )

    # -- baselines learnt once and kept -------------------------------------------------------------
    def learnt(self, label: str, build: Callable[[], ir.Table | pd.DataFrame]) -> ir.Table:
        """A statistic learnt from the baseline period only (`build` reads `part(…, BASELINE)`), kept
        between runs by the engine: every window of the same baseline epoch reads it instead of learning it
        again, as long as the baseline days, the reference tables, the configuration and the detector's code
        are the same. `label` names it (detector id and what it is); two statistics need two labels.
        """
        key = hashlib.sha256("|".join((
            label, self.config.sha256, self.baseline_start.isoformat(), self.baseline_end.isoformat(),
            _code_stamp(build), self._review_stamp(),
        )).encode()).hexdigest()
        if f"learnt:{key}" not in self._cache:
            span = (self.baseline_start.date(), self.baseline_end.date())
            self._cache[f"learnt:{key}"] = self.engine.learnt(key, label, span, build)
        return self._cache[f"learnt:{key}"]

    def _review_stamp(self) -> str:
        # Reviewers' explanations change what counts as explained in the baseline too: a new or revoked
        # explanation must not be answered from a statistic learnt before it.
        scopes = sorted(repr(s) for s in explanation_scopes(self))
        return hashlib.sha256("|".join(scopes).encode()).hexdigest() if scopes else ""

    def user_record_xc(self) -> ir.Table:
        """The window's rows of `user_record_x` plus `colleague`: another user of the same organisation and role
        opened the child too, and `worked`.

        A weak explanation (explanation-based auditing, Fabbri & LeFevre): where involvement data is
        incomplete, a child the team works on is read by several colleagues, while a snooper's
        children are usually read by no one else in their organisation. Only colleagues in the same
        role count (a safeguarding hub in the same council reads children across the area: that is
        not a team's caseload). Colleagues count over baseline and window: the baseline's readers of
        each child are learnt once per epoch (`baseline_readers`). `worked`: the user created or updated
        the child's record in the window (a duty worker taking a referral writes it up; a snooper reads).
        The baseline's own rows, as the baseline alone shows them, are `baseline_xc` (for learners), and
        those the window could still explain are corrected by `baseline_flips`.
        """
        if "user_record_xc" not in self._cache:
            x = self.user_record_x(WINDOW)
            rw = self._window_readers()
            rb = self.baseline_readers()
            wk = self._work((WINDOW,))
            j = x.left_join(rw, (x.org_id == rw.rw_org) & (x.role == rw.rw_role) & (x.record_id == rw.rw_record))
            j = j.left_join(rb, (j.org_id == rb.rb_org) & (j.role == rb.rb_role) & (j.record_id == rb.rb_record))
            j = j.left_join(wk, (j.user_id == wk.wk_user) & (j.record_id == wk.wk_record))
            # Readers over both periods are at least two: two in the window, two in the baseline, or one in
            # the baseline who is someone else.
            nb = j.rb_n.fill_null(0)
            colleague = (j.rw_n.fill_null(1) >= 2) | (nb >= 2) | ((nb == 1) & (j.rb_user != j.user_id))
            j = j.select(*[x[c] for c in x.columns], worked=(j.wk_n.fill_null(0) > 0),
                         colleague=colleague.fill_null(False))
            self._cache["user_record_xc"] = self._materialise("user_record_xc", j)
        return self._cache["user_record_xc"]

    def _window_readers(self) -> ir.Table:
        """Per organisation, role and child of the window: readers (`rw_n`) and the first of them (`rw_user`)."""
        if "window_readers" not in self._cache:
            x = self.user_record_x(WINDOW)
            r = x.group_by(rw_org=x.org_id, rw_role=x.role, rw_record=x.record_id).aggregate(
                rw_n=x.user_id.nunique(), rw_user=x.user_id.min())
            self._cache["window_readers"] = self._materialise("window_readers", r)
        return self._cache["window_readers"]

    def baseline_readers(self) -> ir.Table:
        """Per organisation, role and child of the baseline: how many of the organisation's users in that role
        opened the child (`rb_n`) and the first of them (`rb_user`); learnt once per baseline epoch and kept."""
        def build() -> ir.Table:
            ur = self.part("user_record", BASELINE)
            u = self.users
            j = ur.left_join(u, ur.user_id == u.user_id)
            j = j.select(o=ur.org_id, r=j.role.fill_null(UNKNOWN_ROLE), c=ur.record_id, u=ur.user_id)
            return j.group_by(rb_org=j.o, rb_role=j.r, rb_record=j.c).aggregate(
                rb_n=j.u.nunique(), rb_user=j.u.min())

        return self.learnt("relationship:baseline_readers", build)

    def baseline_xc(self) -> ir.Table:
        """The baseline's rows of `user_record_x` with `colleague` and `worked` as the baseline alone shows them
        (a colleague read the child in the baseline; the user worked on the record in the baseline): what the
        relationship detectors learn from. The window can only add explanations (`baseline_flips`)."""
        if "baseline_xc" not in self._cache:
            x = self.user_record_x(BASELINE)
            rb = self.baseline_readers()
            wk = self._work((BASELINE,))
            j = x.left_join(rb, (x.org_id == rb.rb_org) & (x.role == rb.rb_role) & (x.record_id == rb.rb_record))
            j = j.left_join(wk, (j.user_id == wk.wk_user) & (j.record_id == wk.wk_record))
            j = j.select(*[x[c] for c in x.columns], worked=(j.wk_n.fill_null(0) > 0),
                         colleague=(j.rb_n.fill_null(1) >= 2))
            self._cache["baseline_xc"] = self._materialise("baseline_xc", j)
        return self._cache["baseline_xc"]

    def baseline_unexplained(self) -> ir.Table:
        """The baseline's unexplained rows (`baseline_xc`) that the window could still explain: no colleague
        read the child in the baseline, or the user did not work on it there. Learnt once per epoch and kept."""
        def build() -> ir.Table:
            b = self.baseline_xc()
            b = b.filter(~b.explained, ~b.colleague | ~b.worked)
            return b.select("user_id", "org_id", "role", "org_type", "record_id", "allowed", "explained",
                            "out_of_area", "ended", "involved", "entitled", "colleague", "worked")

        return self.learnt("relationship:baseline_unexplained", build)

    def baseline_flips(self, colleague: bool, work: bool) -> ir.Table:
        """Rows of `baseline_unexplained` that the baseline alone leaves unexplained (by `colleague` and `work`
        as a detector counts them) but the whole run explains: a colleague in the same organisation and role
        read the child in the window (colleagues count over both periods), or the user worked on the child's
        record in the days between the baseline and the window (the baseline's work runs up to the window).
        A learnt baseline count minus these is what counting both periods gives."""
        r = self.baseline_unexplained()
        cand = ibis.literal(True)
        if colleague:
            cand = cand & ~r.colleague
        if work:
            cand = cand & ~r.worked
        r = r.filter(cand)
        rw = self._window_readers()
        wr = self._work((RECENT,))
        j = r.left_join(rw, (r.org_id == rw.rw_org) & (r.role == rw.rw_role) & (r.record_id == rw.rw_record))
        j = j.left_join(wr, (j.user_id == wr.wk_user) & (j.record_id == wr.wk_record))
        flip = ibis.literal(False)
        if colleague:
            n = j.rw_n.fill_null(0)
            flip = flip | (n >= 2) | ((n == 1) & (j.rw_user != j.user_id))
        if work:
            flip = flip | (j.wk_n.fill_null(0) > 0)
        return j.filter(flip.fill_null(False)).select(*[r[c] for c in r.columns])

    def _work(self, periods: tuple[str, ...]) -> ir.Table:
        """Per user and child: creates and updates of the child's record (`n_work` of the kept `records`
        aggregate) in the given periods, in any organisation."""
        parts = []
        for period in periods:
            ur = self.part("user_record", period)
            ur = ur.filter(ur.n_work > 0)
            parts.append(ur.select(wk_user=ur.user_id, wk_record=ur.record_id, n_work=ur.n_work))
        w = parts[0]
        for p in parts[1:]:
            w = w.union(p)
        return w.group_by("wk_user", "wk_record").aggregate(wk_n=w.n_work.sum())

    def shielded_share(self) -> float:
        """Share of children in `subjects` who are shielded (0.01 when unknown): the base rate."""
        if "shielded_share" not in self._cache:
            share = 0.01
            if self.has_data("subjects", "shielded"):
                s = self.table("subjects")
                row = s.aggregate(n=s.count(), k=s.shielded.fill_null(False).cast("int64").sum()).to_pandas()
                n = float(row.n.iloc[0] or 0)
                if n > 0:
                    share = float(row.k.iloc[0] or 0) / n
            self._cache["shielded_share"] = max(share, 1e-4)
        return float(self._cache["shielded_share"])

    def _param_grace(self) -> int:
        # The lingering-access detector's grace period decides when an ended involvement stops
        # explaining an access, for every detector and measure (audit_kit.vocab).
        return lingering_grace_days(self.config)

    def params_for(self, det_id: str, model: type[Any]) -> Any:
        """The detector's params: its model's defaults overlaid with the config file's values."""
        return model(**self.config.detector(det_id).params)
