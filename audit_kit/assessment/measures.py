"""Per-organisation log measures that corroborate or contradict questionnaire answers.

Every measure is an Ibis expression over the same per-day aggregates the detectors read
(`audit_kit.engine.aggregates`: kept in the workspace, computed by Spark from its own events) and takes
its words from `audit_kit.vocab` and the run's configuration: a read, an export, a strong sign-in, an
involvement's grace period and the dormancy threshold mean here what they mean to the detectors, so tuning
`dormant_account.params.dormant_days` or `lingering_access.params.grace_days` moves the matching measure
too. Each is one grouped query for every organisation at once; what comes back is small (a row per
organisation, or per organisation and day / source address) and is finished in Python.

`measure_orgs(ws, window, config=cfg, engine=engine)` runs on DuckDB (default) or on Spark.

(Why this module runs past 400 lines: every measure the catalogues' `log_checks` can name is defined here,
beside the others, so that their shared words (windows, reads, dormancy) are visibly the same; each is a short
grouped query.)
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import ibis

from audit_kit.config import AuditConfig, Entitlements
from audit_kit.detectors.sessions import session_table
from audit_kit.engine.aggregates import matches_any
from audit_kit.engine.duckdb import DuckDBEngine
from audit_kit.store.ingest import unregistered_orgs
from audit_kit.vocab import (
    DORMANT_DAYS,
    EXPORT_ACTIONS,
    MFA_METHODS,
    READ_ACTIONS,
    SERVICE_METHODS,
    dormant_days,
    lingering_grace_days,
    window_days,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from audit_kit.engine.base import Engine
    from audit_kit.store.workspace import Workspace

GAP_MIN_EXPECTED = 30  # events a silence must have been expected to carry to count as a gap
# The detectors' default scan window (kept for callers; the measures read the configuration's).
SCAN_DAYS = AuditConfig().window_days

__all__ = [
    "DORMANT_DAYS", "EXPORT_ACTIONS", "Entitled", "GAP_MIN_EXPECTED", "MFA_METHODS", "OrgMeasures", "READ_ACTIONS",
    "SERVICE_METHODS", "Window", "dormant_threshold", "log_window", "measure_orgs", "parse_networks",
]


@dataclass(frozen=True)
class Window:
    """The log period judged: [start, end) in UTC, and the date the assessment speaks for."""

    start: datetime
    end: datetime
    as_of: date

    @property
    def days(self) -> int:
        return max(1, (self.end - self.start).days)

    @property
    def day_span(self) -> tuple[date, date]:
        """The UTC days [first, last + 1) holding the window's events (the first event opens the window)."""
        return self.start.date(), (self.end - timedelta(microseconds=1)).date() + timedelta(days=1)


@dataclass
class OrgMeasures:
    """Everything measured for one organisation over the window (counts are over the window)."""

    org_id: str
    events: int = 0
    # IAM-02: interactive sessions (detectors/sessions.py: the one session definition) and those with a
    # single factor.
    sessions: int = 0
    single_factor_sessions: int = 0
    auth_events: int = 0
    single_factor_events: int = 0
    # PPL-05: leavers (end_date before the assessment date) and their activity after leaving.
    leavers: int = 0
    leavers_active_after: int = 0
    leaver_events_after: int = 0
    leaver_max_days_after: int = 0
    # IAM-05: enabled accounts, and those idle for the dormancy threshold.
    enabled_accounts: int = 0
    active_accounts: int = 0
    dormant_accounts: int = 0
    dormant_threshold_days: int = DORMANT_DAYS
    dormant_idle_min_days: int | None = None  # the shortest idle time among the dormant ones
    max_idle_days: int = 0  # the longest idle stretch the window shows for an enabled account
    # IAM-01: users with overlapping sessions from different networks (/16).
    users_with_sessions: int = 0
    users_concurrent: int = 0
    concurrent_overlaps: int = 0
    # NTK-02: record reads explained by an involvement.
    reads: int = 0  # successful views of a child's record
    involved_reads: int = 0  # … with an involvement of the org active that day (or within the grace period)
    entitled_reads: int = 0  # … without one, by an entitled role / org type or with an allowed purpose
    # NTK-03: successful reads of shielded records, with and without a recorded override.
    shielded_reads: int = 0
    shielded_overrides: int = 0  # break_glass events (overrides), any outcome
    overrides_unexplained: int = 0  # … of a child the body has no involvement with
    shielded_unflagged: int = 0
    shielded_unexplained: int = 0  # reads of shielded children the body has no involvement with
    shielded_children_read: int = 0
    shielded_users: int = 0
    # NTK-05: exports and prints against the caseload.
    caseload: int = 0
    export_events: int = 0  # exports and prints
    exported_records: int = 0  # export events (prints excluded)
    adhoc_exports: int = 0  # exports without an allow-listed purpose
    adhoc_export_users: int = 0
    max_user_day_export: int = 0  # most ad-hoc exports by one user in one day
    # DEV-04: source networks (per distinct address; matched to declared networks in Python).
    ip_events: int = 0
    undeclared_ip_events: int = 0
    undeclared_ips: list[str] = field(default_factory=list)
    declared_networks: list[str] = field(default_factory=list)
    # MON-03: days in the window with no events at all (weekdays), and the longest silence.
    first_event: datetime | None = None
    last_event: datetime | None = None
    usual_weekday_events: int = 0  # median events on a weekday
    silent_weekdays: int = 0  # weekdays inside significant silences
    longest_silence_days: int = 0  # calendar days of the longest significant silence
    # Reach (impact): children with an involvement or read in the window, and shielded ones.
    children_reachable: int = 0
    shielded_reachable: int = 0
    users: int = 0

    @property
    def single_factor_share(self) -> float | None:
        return None if not self.sessions else self.single_factor_sessions / self.sessions

    @property
    def caseload_reads(self) -> int:
        """Views that must trace to the body's own case: all but those explained by an entitlement."""
        return self.reads - self.entitled_reads

    @property
    def explained_rate(self) -> float | None:
        """Share of caseload views explained by an involvement (None without any)."""
        return None if not self.caseload_reads else self.involved_reads / self.caseload_reads

    @property
    def undeclared_share(self) -> float | None:
        if not self.ip_events or not self.declared_networks:
            return None
        return self.undeclared_ip_events / self.ip_events


def dormant_threshold(window: Window, config: AuditConfig | None = None) -> int:
    """Idle days that make an account dormant: the dormant_account detector's `dormant_days` (90), or what a
    shorter window can show.

    The last `window_days` (14) are the detectors' scan window, so a window of N days can show an account
    idle for its first N − 14 days that woke up in the scan window (at least 7 days either way).
    """
    cfg = config or AuditConfig()
    return max(7, min(dormant_days(cfg), window.days - window_days(cfg)))


def log_window(ws: Workspace, as_of: date | None = None, engine: Engine | None = None) -> Window | None:
    """The window of log evidence: all stored events up to the end of `as_of` (None: no events)."""
    start, last = (engine or DuckDBEngine(ws)).time_span()
    if start is None or last is None:
        return None
    end = last + timedelta(microseconds=1)
    if as_of is not None:
        end = min(end, datetime.combine(as_of + timedelta(days=1), time()))
    if end <= start:
        return None
    return Window(start=start, end=end, as_of=as_of or last.date())


@dataclass(frozen=True)
class Entitled:
    """Who may read across caseloads (mirrors audit_kit.config.Entitlements' defaults). Kept for callers that
    pass entitlements apart from a configuration; `measure_orgs(config=...)` takes them from the config."""

    cross_area_roles: tuple[str, ...] = ("*mash*", "*safeguarding_hub*")
    cross_area_org_types: tuple[str, ...] = ("national_partner",)
    out_of_hours_roles: tuple[str, ...] = ("*duty*", "*out_of_hours*", "*out-of-hours*", "*emergency*", "*ooh*")


def measure_orgs(
    ws: Workspace, window: Window, declared: Mapping[str, list[str]] | None = None,
    allowed_purposes: Iterable[str] | None = None, entitlements: Entitled | Entitlements | None = None,
    national: dict[str, int] | None = None, *, config: AuditConfig | None = None, engine: Engine | None = None,
) -> dict[str, OrgMeasures]:
    """Measure every organisation's logs over `window` in a few grouped engine passes.

    `config` supplies the shared words (allow-listed purposes, entitlements, the dormancy threshold and the
    involvement grace period, as the detectors read them); `allowed_purposes` and `entitlements`, when
    given, override the config's. `declared` maps org_id to the network ranges it declared (DEV-04). A
    `national` dict, when given, receives the distinct children any body can reach (`children`) and the
    shielded ones (`shielded`). `engine` runs the queries (default: DuckDB over `ws`; Spark gives the same).
    """
    cfg = config or AuditConfig()
    purposes = tuple(allowed_purposes) if allowed_purposes is not None else tuple(cfg.allow.purposes)
    ent = entitlements if entitlements is not None else cfg.entitlements
    m = _Measurer(ws, engine or DuckDBEngine(ws), window, cfg, purposes, ent)
    orgs = sorted(m.engine.table("organisations").select("org_id").to_pandas().org_id)
    orgs += unregistered_orgs(ws)  # bodies with events or answers but no organisations.csv row
    out = {o: OrgMeasures(org_id=o) for o in orgs}
    try:
        m.sessions_and_auth(out)
        m.leavers(out)
        m.dormant(out)
        m.concurrent(out)
        m.reads(out)
        m.shielded(out)
        m.exports(out)
        m.networks(out, declared or {})
        m.gaps(out)
        m.reach(out, national)
    finally:
        m.cleanup()
    return out


class _Measurer:
    """One measuring run: the window's aggregates, read once, and the config's words."""

    def __init__(self, ws: Workspace, engine: Engine, window: Window, config: AuditConfig,
                 purposes: tuple[str, ...], ent: Entitled | Entitlements) -> None:
        self.ws, self.engine, self.window, self.config = ws, engine, window, config
        self.purposes = purposes
        self.ent = ent
        self.d0, self.d1 = window.day_span
        self._temp: list[str] = []
        self._cache: dict[str, ir.Table] = {}

    # -- plumbing ------------------------------------------------------------------------------
    def daily(self, name: str) -> ir.Table:
        return self.engine.daily(name, self.d0, self.d1)

    def keep(self, name: str, expr: ir.Table) -> ir.Table:
        tname = f"_ak_measure_{name}_{id(self):x}"
        self._temp.append(tname)
        return self.engine.materialise(tname, expr)

    def cleanup(self) -> None:
        for t in self._temp:
            self.engine.drop(t)
        self._temp.clear()

    @staticmethod
    def fill(out: dict[str, OrgMeasures], df: pd.DataFrame, names: Iterable[str]) -> None:
        cols = list(names)
        for row in df.itertuples(index=False):
            m = out.get(row[0])
            if m is None:  # events of an org missing from organisations.csv: ingest quarantines these
                continue
            for name, value in zip(cols, row[1:], strict=True):
                setattr(m, name, _py(value) if not _missing(value) else getattr(m, name))

    @property
    def session_table(self) -> ir.Table:
        """Per session id (else the user's UTC day) of successful events in the window, from the kept daily
        aggregate: event counts and activity days. Sessions as people are counted use `sessions`."""
        if "sessions" not in self._cache:
            s = self.daily("sessions")
            s = s.mutate(sk=ibis.ifelse(s.session_id.isnull(), s.day, ibis.null("date")))
            g = s.group_by("org_id", "user_id", "session_id", "sk").aggregate(
                n=s.n.sum().cast("int64"), t0=s.t0.min(), t1=s.t1.max(), ip=s.ip.min(),
                n_auth=s.n_auth.sum().cast("int64"), n_strong=s.n_strong.sum().cast("int64"),
                n_service=s.n_service.sum().cast("int64"),
            )
            self._cache["sessions"] = self.keep("sessions", g)
        return self._cache["sessions"]

    def inv_spans(self) -> ir.Table:
        """Per (record, org): the span of the body's involvements with the child (open ends unbounded)."""
        i = self.engine.table("involvements")
        return i.group_by(s_record=i.record_id, s_org=i.org_id).aggregate(
            s_start=i.start_date.min(), s_end=i.end_date.max(), s_open=i.end_date.isnull().any(),
            s_unstarted=i.start_date.isnull().any(),
        )

    @property
    def views(self) -> ir.Table:
        """Successful views per organisation, user, child, purpose: `involved` when an involvement of the body
        with the child covered the day (ending no more than the lingering grace period before)."""
        if "views" not in self._cache:
            r = self.daily("records")
            r = r.filter(r.n_view > 0)
            sp = self.inv_spans()
            j = r.left_join(sp, (r.record_id == sp.s_record) & (r.org_id == sp.s_org))
            grace = lingering_grace_days(self.config)
            started = j.s_unstarted.fill_null(False) | j.s_start.isnull() | (j.s_start <= j.day)
            not_ended = j.s_open.fill_null(False) | (j.s_end >= j.day - ibis.interval(days=grace))
            involved = (j.s_record.notnull() & started & not_ended).fill_null(False)
            j = j.mutate(involved=involved)
            g = j.group_by("org_id", "user_id", "record_id", "purpose", "involved").aggregate(
                n=j.n_view.sum().cast("int64"))
            self._cache["views"] = self.keep("views", g)
        return self._cache["views"]

    # -- IAM-02: sessions and their sign-in --------------------------------------------------------
    @property
    def sessions(self) -> ir.Table:
        """The window's sessions as the detectors see them (`audit_kit.detectors.sessions`): the log's
        session ids split by network and method, else sessions derived from account, network, method and
        time gaps. One definition, so a password-only use from another network is never folded into the
        owner's MFA session here while `weak_auth` and `concurrent_sessions` see it apart."""
        if "shared_sessions" not in self._cache:
            e = self.engine.table("events")
            e = e.filter(e.timestamp >= self.window.start, e.timestamp < self.window.end)
            self._cache["shared_sessions"] = self.keep("shared_sessions", session_table(e))
        return self._cache["shared_sessions"]

    def sessions_and_auth(self, out: dict[str, OrgMeasures]) -> None:
        s = self.session_table
        agg = s.group_by("org_id").aggregate(
            events=s.n.sum(), auth_events=(s.n_auth - s.n_service).sum(),
            single_factor_events=(s.n_auth - s.n_service - s.n_strong).sum(),
            first_event=s.t0.min(), last_event=s.t1.max(),
        )
        self.fill(out, agg.to_pandas(), ["events", "auth_events", "single_factor_events", "first_event", "last_event"])
        # Interactive sessions: the method is known and not a service's (`strong` is null otherwise).
        d = self.sessions
        agg = d.group_by("org_id").aggregate(sessions=d.count(where=d.strong.notnull()),
                                             single_factor_sessions=d.count(where=d.strong == False))  # noqa: E712
        self.fill(out, agg.to_pandas(), ["sessions", "single_factor_sessions"])

    # -- PPL-05: leavers' accounts used after leaving ------------------------------------------------
    def leavers(self, out: dict[str, OrgMeasures]) -> None:
        u = self.engine.table("users")
        left = u.filter(u.end_date.notnull(), u.end_date < self.window.as_of).select(
            l_user=u.user_id, l_org=u.org_id, l_end=u.end_date)
        a = self.daily("activity")
        a = a.filter(a.n_ok > 0)
        act = a.group_by(a_user=a.user_id, a_day=a.day).aggregate(a_n=a.n_ok.sum().cast("int64"))
        # Successful activity from the day after the end date (UTC), as the detector counts it.
        j = left.left_join(act, (left.l_user == act.a_user) & (act.a_day > left.l_end))
        agg = j.group_by(org_id=j.l_org).aggregate(
            leavers=j.l_user.nunique(), active=j.a_user.nunique(), events=j.a_n.sum().fill_null(0),
            max_days=j.a_day.delta(j.l_end, unit="day").max().fill_null(0),
        )
        self.fill(out, agg.to_pandas(), ["leavers", "leavers_active_after", "leaver_events_after",
                                         "leaver_max_days_after"])

    # -- IAM-04/05: dormant accounts ------------------------------------------------------------------
    def dormant(self, out: dict[str, OrgMeasures]) -> None:
        """Enabled at the assessment date, existing for the dormancy rule's days before the window, with an
        idle stretch of at least the threshold somewhere in the window (woken-up accounts included)."""
        w = self.window
        threshold = dormant_threshold(w, self.config)
        start = w.start.date()
        s = self.session_table
        days = s.select(user_id=s.user_id, d=s.t0.date()).union(s.select(user_id=s.user_id, d=s.t1.date()),
                                                                distinct=True)
        prev = ibis.window(group_by="user_id", order_by="d")
        gaps = days.mutate(gap=days.d.delta(days.d.lag().over(prev).fill_null(start), unit="day"))
        per_user = gaps.group_by(p_user=gaps.user_id).aggregate(longest=gaps.gap.max(), last_day=gaps.d.max())
        u = self.engine.table("users")
        since_rule = start - timedelta(days=dormant_days(self.config))
        acct = u.filter((u.end_date.isnull() | (u.end_date > w.as_of))
                        & (u.start_date.isnull() | (u.start_date <= since_rule)))
        j = acct.left_join(per_user, acct.user_id == per_user.p_user)
        since_last = ibis.literal(w.as_of).delta(j.last_day.fill_null(start), unit="day")
        idle = ibis.greatest(j.longest.fill_null(0), since_last)
        j = j.mutate(idle=idle)
        agg = j.group_by("org_id").aggregate(
            enabled=j.count(), active=j.last_day.count(), dormant=j.count(where=j.idle >= threshold),
            idle_min=j.idle.min(where=j.idle >= threshold), idle_max=j.idle.max(),
        )
        self.fill(out, agg.to_pandas(), ["enabled_accounts", "active_accounts", "dormant_accounts",
                                         "dormant_idle_min_days", "max_idle_days"])
        for m in out.values():
            m.dormant_threshold_days = threshold

    # -- IAM-01: overlapping sessions from different networks -------------------------------------------
    def concurrent(self, out: dict[str, OrgMeasures]) -> None:
        """A session starting before an earlier one of the same user has ended, from another network
        (the sessions' network: IPv4 /16, as `concurrent_sessions` pairs them; a second device on the
        office network is not sharing)."""
        s = self.sessions
        s = s.filter(s.net.notnull())
        order = ibis.window(group_by="user_id", order_by=["s_start", "session_key"])
        upto = ibis.window(group_by="user_id", order_by=["s_start", "session_key"], preceding=None, following=0)
        s = s.mutate(run_t1=s.s_end.max().over(upto), prev_net=s.net.lag().over(order))
        s = s.mutate(prev_t1=s.run_t1.lag().over(order))
        overlap = (s.s_start < s.prev_t1) & (s.net != s.prev_net)
        agg = s.group_by("org_id").aggregate(
            users=s.user_id.nunique(), concurrent=s.user_id.nunique(where=overlap),
            overlaps=s.count(where=overlap),
        )
        self.fill(out, agg.to_pandas(), ["users_with_sessions", "users_concurrent", "concurrent_overlaps"])

    # -- NTK-02: views explained by an involvement ----------------------------------------------------------
    def reads(self, out: dict[str, OrgMeasures]) -> None:
        """Views by a role or org type entitled to read across caseloads (MASH, national partners), with an
        allow-listed purpose, or by a duty / out-of-hours user of a child of the body's own area need no case
        of their own; every other view should trace to an involvement of the body with the child. Entitled
        views are left out of the rate, so a large MASH team cannot dilute its colleagues' unexplained reads."""
        v = self.views
        u = self.engine.table("users").select(v_user="user_id", v_role="role")
        o = self.engine.table("organisations").select(o_org="org_id", o_type="type", o_area="area")
        s = self.engine.table("subjects").select(sj_record="record_id", sj_area="home_area")
        j = (v.left_join(u, v.user_id == u.v_user).left_join(o, v.org_id == o.o_org)
             .left_join(s, v.record_id == s.sj_record))
        across = (matches_any(j.v_role, self.ent.cross_area_roles)
                  | matches_any(j.o_type, self.ent.cross_area_org_types)
                  | matches_any(j.purpose, self.purposes))
        duty_in_area = matches_any(j.v_role, self.ent.out_of_hours_roles) & (j.sj_area == j.o_area).fill_null(False)
        entitled = ~j.involved & (across | duty_in_area)
        zero = ibis.literal(0, "int64")
        agg = j.group_by("org_id").aggregate(
            reads=j.n.sum(), involved=j.n.sum(where=j.involved).fill_null(zero),
            entitled=j.n.sum(where=entitled).fill_null(zero),
        )
        self.fill(out, agg.to_pandas(), ["reads", "involved_reads", "entitled_reads"])

    # -- NTK-03: overrides and shielded reads ----------------------------------------------------------------
    def shielded(self, out: dict[str, OrgMeasures]) -> None:
        """Overrides (break_glass events, whatever their outcome: an attempt is an override) and those of a child
        the body has no involvement with; reads of shielded children for context."""
        i = self.engine.table("involvements")
        pairs = i.select(p_record=i.record_id, p_org=i.org_id).distinct()
        a = self.daily("activity")
        total = a.group_by("org_id").aggregate(overrides=a.n_bg_all.sum())
        r = self.daily("records")
        rj = r.left_join(pairs, (r.record_id == pairs.p_record) & (r.org_id == pairs.p_org))
        rj = rj.mutate(inv=rj.p_record.notnull())
        explained = rj.filter(rj.inv, rj.n_bg_all > 0).group_by(e_org=rj.org_id).aggregate(
            explained=rj.n_bg_all.sum())
        ov = total.left_join(explained, total.org_id == explained.e_org)
        ov = ov.select("org_id", "overrides",
                       unexplained=ov.overrides - ov.explained.fill_null(ibis.literal(0, "int64")))
        sh = self.engine.table("subjects")
        sh = sh.filter(sh.shielded.fill_null(False)).select(sh_record="record_id")
        reads = rj.filter(rj.n_read > 0).join(sh, rj.record_id == sh.sh_record)
        zero = ibis.literal(0, "int64")
        sr = reads.group_by("org_id").aggregate(
            n=reads.n_read.sum(), unexplained=reads.n_read.sum(where=~reads.inv).fill_null(zero),
            children=reads.record_id.nunique(), users=reads.user_id.nunique(),
        )
        self.fill(out, ov.filter(ov.overrides > 0).to_pandas(), ["shielded_overrides", "overrides_unexplained"])
        self.fill(out, sr.to_pandas(), ["shielded_reads", "shielded_unexplained", "shielded_children_read",
                                        "shielded_users"])

    # -- NTK-05: exports against the caseload ------------------------------------------------------------------
    def exports(self, out: dict[str, OrgMeasures]) -> None:
        """Ad-hoc exports are successful exports without an allow-listed purpose (scheduled statutory returns
        are expected); prints are counted for context only."""
        i = self.engine.table("involvements")
        case_n = i.group_by("org_id").aggregate(caseload=i.record_id.nunique())
        r = self.daily("records")
        r = r.filter(r.n_export > 0)
        r = r.mutate(adhoc=ibis.ifelse(matches_any(r.purpose, self.purposes), 0, r.n_export_only))
        agg = r.group_by("org_id").aggregate(
            events=r.n_export.sum(), exports=r.n_export_only.sum(), adhoc=r.adhoc.sum(),
            adhoc_users=r.user_id.nunique(where=r.adhoc > 0),
        )
        zero = ibis.literal(0, "int64")
        per_day = r.group_by("org_id", "user_id", "day").aggregate(n=r.adhoc.sum())
        peak = per_day.group_by(k_org=per_day.org_id).aggregate(peak=per_day.n.max())
        df_case = case_n.to_pandas()
        self.fill(out, df_case, ["caseload"])
        j = agg.left_join(peak, agg.org_id == peak.k_org)
        self.fill(out, j.select("org_id", "events", "exports", "adhoc", "adhoc_users",
                                peak=j.peak.fill_null(zero)).to_pandas(),
                  ["export_events", "exported_records", "adhoc_exports", "adhoc_export_users", "max_user_day_export"])

    # -- DEV-04: source networks --------------------------------------------------------------------------------
    def networks(self, out: dict[str, OrgMeasures], declared: Mapping[str, list[str]]) -> None:
        """Events per (organisation, address) from the engine; the few distinct addresses matched to the
        declared ranges in Python (ipaddress handles IPv4 and IPv6 the same way)."""
        a = self.daily("org_ips")
        df = a.group_by("org_id", "source_ip").aggregate(n=a.n.sum()).order_by(["org_id", "source_ip"]).to_pandas()
        nets = {org: parse_networks(texts) for org, texts in declared.items()}
        for org_id, ip, n in df.itertuples(index=False, name=None):
            m = out.get(org_id)
            if m is None:
                continue
            m.ip_events += int(n)
            org_nets = nets.get(org_id)
            if not org_nets:
                continue
            m.declared_networks = [str(x) for x in org_nets]
            if not _in_networks(ip, org_nets):
                m.undeclared_ip_events += int(n)
                m.undeclared_ips.append(ip)
        for org_id, org_nets in nets.items():
            if org_id in out and org_nets:
                out[org_id].declared_networks = [str(x) for x in org_nets]
        for m in out.values():
            m.undeclared_ips.sort()

    # -- MON-03: silences ------------------------------------------------------------------------------------------
    def gaps(self, out: dict[str, OrgMeasures]) -> None:
        """A silence counts as a gap only when it touches a weekday and the org's usual weekday volume makes
        silence implausible by chance: expected events over the silent weekdays of at least
        GAP_MIN_EXPECTED (P(0 events) ≈ e^-30). Daily counts per org are small (orgs × days)."""
        a = self.daily("activity")
        df = a.group_by("org_id", "day").aggregate(n=a.n.sum()).to_pandas()
        counts: dict[str, dict[date, int]] = {}
        for org_id, d, n in df.itertuples(index=False, name=None):
            counts.setdefault(org_id, {})[_as_date(d)] = int(n)
        window = self.window
        # Whole days only: the window's first and last days are partial.
        first = window.start.date() + timedelta(days=1)
        last = (window.end - timedelta(microseconds=1)).date() - timedelta(days=1)
        all_days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        for org_id, m in out.items():
            seen = counts.get(org_id, {})
            weekday_counts = sorted(n for d, n in seen.items() if d.weekday() < 5 and first <= d <= last)
            usual = weekday_counts[len(weekday_counts) // 2] if weekday_counts else 0
            m.usual_weekday_events = usual
            silent = longest = run = run_weekdays = 0
            for d in [*all_days, None]:
                if d is None or seen.get(d):
                    if run_weekdays and run_weekdays * usual >= GAP_MIN_EXPECTED:
                        longest = max(longest, run)
                        silent += run_weekdays
                    run = run_weekdays = 0
                    continue
                run += 1
                if d.weekday() < 5:
                    run_weekdays += 1
            m.silent_weekdays = silent
            m.longest_silence_days = longest

    # -- reach (impact) ---------------------------------------------------------------------------------------------
    def reach(self, out: dict[str, OrgMeasures], national: dict[str, int] | None) -> None:
        i = self.engine.table("involvements")
        v = self.views
        pairs = i.select("org_id", "record_id").union(
            v.filter(~v.involved).select("org_id", "record_id"), distinct=True)
        sh = self.engine.table("subjects").select(sj_record="record_id", sj_shielded="shielded")
        rj = pairs.left_join(sh, pairs.record_id == sh.sj_record)
        per_org = rj.group_by(r_org=rj.org_id).aggregate(
            children=rj.count(), shielded=rj.count(where=rj.sj_shielded.fill_null(False)))
        u = self.engine.table("users")
        u = u.filter(u.end_date.isnull() | (u.end_date >= self.window.as_of))
        users_n = u.group_by(n_org=u.org_id).aggregate(users=u.count())
        o = self.engine.table("organisations").select("org_id")
        j = o.left_join(per_org, o.org_id == per_org.r_org).left_join(users_n, o.org_id == users_n.n_org)
        zero = ibis.literal(0, "int64")
        df = j.select("org_id", children=j.children.fill_null(zero), shielded=j.shielded.fill_null(zero),
                      users=j.users.fill_null(zero)).to_pandas()
        self.fill(out, df, ["children_reachable", "shielded_reachable", "users"])
        if national is not None:
            kids = pairs.select("record_id").distinct()
            kj = kids.left_join(sh, kids.record_id == sh.sj_record)
            row = kj.aggregate(children=kj.count(), shielded=kj.count(where=kj.sj_shielded.fill_null(False))
                               ).to_pandas()
            national["children"] = int(row.children.iloc[0]) if len(row) else 0
            national["shielded"] = int(row.shielded.iloc[0]) if len(row) else 0


# -- declared networks (DEV-04) ---------------------------------------------------------------------
_NET_RE = re.compile(
    r"(?<![\w.:])("
    r"(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?"  # IPv4 address or CIDR
    r"|[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?:/\d{1,3})?"  # IPv6 address or CIDR
    r")(?![\w.])"
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(texts: Iterable[str | None]) -> list[Network]:
    """Every IPv4/IPv6 address or CIDR range written in the given texts (answer, evidence, comment).

    A bare address counts as a single-host range. Invalid ones ("999.1.1.1/40") are ignored.
    """
    nets: list[Network] = []
    for text in texts:
        for token in _NET_RE.findall(text or ""):
            try:
                net = ipaddress.ip_network(token, strict=False)
            except ValueError:
                continue
            if net not in nets:
                nets.append(net)
    return nets


def _in_networks(ip: str, nets: list[Network]) -> bool:
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    return any(addr.version == n.version and addr in n for n in nets)


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _py(v: Any) -> Any:
    """A pandas/numpy scalar as plain Python (Timestamps as naive datetimes, whole floats as ints)."""
    if hasattr(v, "to_pydatetime"):
        return v.to_pydatetime()
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _as_date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return v.date()  # a pandas Timestamp
