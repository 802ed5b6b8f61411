"""Per-organisation log measures that corroborate or contradict questionnaire answers.

Each measure is one grouped DuckDB query over the workspace's canonical tables (`events`, `users`,
`subjects`, `involvements`), so the whole set is a handful of engine passes however many
organisations there are — never one query per organisation, never pandas over raw events. What
comes back is small (a row per organisation, or per organisation and day / source network) and is
finished in Python.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from audit_kit.store.ingest import unregistered_orgs
from audit_kit.store.sql import fetch_one
from audit_kit.store.workspace import Workspace

# Authentication methods that prove more than one factor, and those used by service accounts
# (machine-to-machine integrations, judged by IAM-07 rather than the MFA control).
MFA_METHODS = ("mfa", "smartcard", "token", "hardware_token", "otp", "fido", "fido2", "webauthn", "2fa")
SERVICE_METHODS = ("api_key", "certificate", "service", "client_credentials")
# Actions that read or disclose one child's record (what shielding and exports protect).
READ_ACTIONS = ("view", "print", "export", "update")
EXPORT_ACTIONS = ("export", "print")
DORMANT_DAYS = 90
GAP_MIN_EXPECTED = 30  # events a silence must have been expected to carry to count as a gap
SCAN_DAYS = 14  # the detectors' default scan window (audit_kit.config.AuditConfig.window_days)


@dataclass(frozen=True)
class Window:
    """The log period judged: [start, end) in UTC, and the date the assessment speaks for."""

    start: datetime
    end: datetime
    as_of: date

    @property
    def days(self) -> int:
        return max(1, (self.end - self.start).days)


@dataclass
class OrgMeasures:
    """Everything measured for one organisation over the window (counts are over the window)."""

    org_id: str
    events: int = 0
    # IAM-02: interactive sessions (session_id, else user-day) and those with a single factor.
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
    # IAM-01: users with overlapping sessions from different source addresses.
    users_with_sessions: int = 0
    users_concurrent: int = 0
    concurrent_overlaps: int = 0
    # NTK-02: record reads explained by an involvement.
    reads: int = 0  # successful views of a child's record
    involved_reads: int = 0  # … with an involvement of the org active that day
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


def dormant_threshold(window: Window) -> int:
    """Idle days that make an account dormant: 90, or what a shorter window can show.

    The last 14 days are the detectors' scan window, so a window of N days can show an account idle
    for its first N − 14 days that woke up in the scan window (at least 7 days either way).
    """
    return max(7, min(DORMANT_DAYS, window.days - SCAN_DAYS))


def log_window(ws: Workspace, as_of: date | None = None) -> Window | None:
    """The window of log evidence: all stored events up to the end of `as_of` (None: no events)."""
    row = fetch_one(ws.con, "SELECT min(timestamp), max(timestamp) FROM events")
    if row is None or row[0] is None:
        return None
    start, last = row
    end = last + timedelta(microseconds=1)
    if as_of is not None:
        end = min(end, datetime.combine(as_of + timedelta(days=1), datetime.min.time()))
    if end <= start:
        return None
    return Window(start=start, end=end, as_of=as_of or last.date())


def measure_orgs(
    ws: Workspace, window: Window, declared: Mapping[str, list[str]] | None = None,
    allowed_purposes: Iterable[str] = ("statutory*",), entitlements: Entitled | None = None,
    national: dict[str, int] | None = None,
) -> dict[str, OrgMeasures]:
    """Measure every organisation's logs over `window` in a few grouped engine passes.

    `declared` maps org_id to the network ranges it declared (DEV-04); `allowed_purposes` are the
    config's allow-listed purposes (shell globs): exports with one of them are scheduled returns,
    not ad-hoc copies (NTK-05); `entitlements` the roles and org types entitled to read across
    caseloads (NTK-02). A `national` dict, when given, receives the distinct children any body
    can reach (`children`) and the shielded ones (`shielded`).
    """
    allowed_purposes = tuple(allowed_purposes)
    entitlements = entitlements or Entitled()
    orgs = [r[0] for r in ws.sql("SELECT org_id FROM organisations ORDER BY org_id").fetchall()]
    orgs += unregistered_orgs(ws)  # bodies with events or answers but no organisations.csv row
    out = {o: OrgMeasures(org_id=o) for o in orgs}
    params = [window.start, window.end]
    # Two shared aggregates, each one pass over the window's events, serve most measures:
    # per session (authentication, overlaps, active days) and per user × child × day × action.
    try:
        _build_aggregates(ws, window, allowed_purposes)
        _fill_measures(ws, window, out, params, allowed_purposes, entitlements)
        _measure_networks(ws, window, out, declared or {})
        _measure_gaps(ws, window, out)
        _measure_reach(ws, window, out)
        if national is not None:
            row = fetch_one(ws.con,
                f"""WITH r AS (SELECT record_id FROM involvements
                               UNION SELECT record_id FROM {VIEWS} WHERE NOT involved)
                    SELECT count(*), count(*) FILTER (WHERE s.shielded) FROM r LEFT JOIN subjects s USING (record_id)"""
            )
            national["children"], national["shielded"] = (int(row[0]), int(row[1])) if row else (0, 0)
    finally:
        for t in (SESSIONS, VIEWS):
            ws.con.execute(f"DROP TABLE IF EXISTS {t}")
    return out


SESSIONS = "_ak_assess_sessions"
VIEWS = "_ak_assess_views"


def _build_aggregates(ws: Workspace, window: Window, allowed_purposes: tuple[str, ...]) -> None:
    mfa = _sql_list(MFA_METHODS)
    svc = _sql_list(SERVICE_METHODS)
    # Sessions: session_id, else the user's day. Methods are classified on the few distinct values,
    # not on every event.
    ws.sql(
        f"""
        CREATE OR REPLACE TEMP TABLE {SESSIONS} AS
        WITH methods AS (
            SELECT m AS auth_method, lower(m) IN {mfa} AS strong, lower(m) IN {svc} AS service
            FROM (SELECT DISTINCT auth_method AS m FROM events WHERE auth_method IS NOT NULL)
        )
        SELECT e.org_id, e.user_id, e.session_id,
               count(*) AS n, min(e.timestamp) AS t0, max(e.timestamp) AS t1, min(e.source_ip) AS ip,
               bool_or(coalesce(m.strong, false)) AS strong,
               bool_and(coalesce(m.service, true)) AS service,
               count(m.auth_method) FILTER (WHERE NOT m.service) AS auth_n,
               count(m.auth_method) FILTER (WHERE NOT m.service AND NOT m.strong) AS weak_n,
               bool_or(e.auth_method IS NOT NULL) AS has_auth
        FROM events e LEFT JOIN methods m ON m.auth_method = e.auth_method
        WHERE e.timestamp >= ? AND e.timestamp < ? AND e.outcome = 'success'
        GROUP BY e.org_id, e.user_id, e.session_id,
                 CASE WHEN e.session_id IS NULL THEN CAST(e.timestamp AS DATE) END
        """,
        [window.start, window.end],
    )
    # Views with no involvement of the viewing body active that day (several involvements of one
    # body with one child are taken as their overall span). Usually a few per cent of all views:
    # everything that needs users, subjects or distinct children works on this small table.
    allowed = _glob_any("lower(purpose)", allowed_purposes)
    ws.sql(
        f"""
        CREATE OR REPLACE TEMP TABLE {VIEWS} AS
        WITH inv AS (
            SELECT record_id, org_id, min(coalesce(start_date, DATE '0001-01-01')) AS s,
                   max(coalesce(end_date, DATE '9999-12-31')) AS e
            FROM involvements GROUP BY record_id, org_id
        )
        , v AS (
            SELECT e.org_id, e.user_id, e.record_id, e.purpose, i.record_id IS NOT NULL AS involved
            FROM events e LEFT JOIN inv i
              ON i.record_id = e.record_id AND i.org_id = e.org_id
             AND CAST(e.timestamp AS DATE) BETWEEN i.s AND i.e
            WHERE e.timestamp >= ? AND e.timestamp < ? AND e.outcome = 'success' AND e.action = 'view'
              AND e.record_id IS NOT NULL
        )
        -- involved views collapse to one row per organisation; the rest keep user and child
        SELECT org_id, involved,
               CASE WHEN NOT involved THEN user_id END AS user_id,
               CASE WHEN NOT involved THEN record_id END AS record_id,
               CASE WHEN NOT involved THEN coalesce({allowed}, false) END AS allowed_purpose,
               count(*) AS n
        FROM v GROUP BY ALL
        """,
        [window.start, window.end],
    )


def _fill_measures(
    ws: Workspace, window: Window, out: dict[str, OrgMeasures], params: list[Any],
    allowed_purposes: tuple[str, ...], entitlements: Entitled,
) -> None:
    def fill(sql: str, args: list[Any], names: Iterable[str]) -> None:
        cols = list(names)
        for row in ws.sql(sql, args).fetchall():
            m = out.get(row[0])
            if m is None:  # events of an org missing from organisations.csv: ingest quarantines these
                continue
            for name, value in zip(cols, row[1:], strict=True):
                setattr(m, name, value if value is not None else getattr(m, name))

    # IAM-02: interactive sessions (service-only sessions excluded) without an MFA-class method.
    fill(
        f"""
        SELECT org_id, sum(n)::BIGINT,
               count(*) FILTER (WHERE has_auth AND NOT service),
               count(*) FILTER (WHERE has_auth AND NOT service AND NOT strong),
               sum(auth_n)::BIGINT, sum(weak_n)::BIGINT, min(t0), max(t1)
        FROM {SESSIONS} GROUP BY org_id
        """,
        [],
        ["events", "sessions", "single_factor_sessions", "auth_events", "single_factor_events",
         "first_event", "last_event"],
    )
    # PPL-05: accounts whose end_date passed, and their successful activity after it (few rows:
    # only leavers' events are joined).
    fill(
        """
        SELECT u.org_id, count(DISTINCT u.user_id),
               count(DISTINCT e.user_id), count(e.user_id),
               coalesce(max(date_diff('day', u.end_date, CAST(e.timestamp AS DATE))), 0)
        FROM users u
        LEFT JOIN events e
          ON e.user_id = u.user_id AND e.outcome = 'success'
         AND e.timestamp >= u.end_date + INTERVAL 1 DAY AND e.timestamp >= ? AND e.timestamp < ?
        WHERE u.end_date IS NOT NULL AND u.end_date < ?
        GROUP BY u.org_id
        """,
        [*params, window.as_of],
        ["leavers", "leavers_active_after", "leaver_events_after", "leaver_max_days_after"],
    )
    # IAM-04/05: enabled at the assessment date, existing for the dormancy rule's 90 days before
    # the window, with an idle stretch of at least the threshold somewhere in the window (woken-up
    # accounts included). The threshold used is recorded with the numbers.
    threshold = dormant_threshold(window)
    fill(
        f"""
        WITH days AS (
            SELECT DISTINCT user_id, CAST(t0 AS DATE) AS d FROM {SESSIONS}
            UNION SELECT DISTINCT user_id, CAST(t1 AS DATE) FROM {SESSIONS}
        ), gaps AS (
            SELECT user_id, d, date_diff('day', coalesce(lag(d) OVER (PARTITION BY user_id ORDER BY d), ?), d) AS gap
            FROM days
        ), per_user AS (
            SELECT user_id, max(gap) AS longest, max(d) AS last_day FROM gaps GROUP BY user_id
        ), acct AS (
            SELECT u.org_id, u.user_id, p.last_day,
                   greatest(coalesce(p.longest, 0),
                            date_diff('day', coalesce(p.last_day, ?), ?)) AS idle
            FROM users u LEFT JOIN per_user p USING (user_id)
            WHERE (u.end_date IS NULL OR u.end_date > ?) AND (u.start_date IS NULL OR u.start_date <= ? - 90)
        )
        SELECT org_id, count(*), count(last_day), count(*) FILTER (WHERE idle >= ?),
               min(idle) FILTER (WHERE idle >= ?), max(idle)
        FROM acct GROUP BY org_id
        """,
        [window.start.date(), window.start.date(), window.as_of, window.as_of, window.start.date(),
         threshold, threshold],
        ["enabled_accounts", "active_accounts", "dormant_accounts", "dormant_idle_min_days", "max_idle_days"],
    )
    for m in out.values():
        m.dormant_threshold_days = threshold
    # IAM-01: a session starting before an earlier one of the same user has ended, from another
    # network (IPv4 /24; a second device on the office network is not sharing).
    fill(
        rf"""
        WITH n AS (
            SELECT org_id, user_id, session_id, t0, t1,
                   CASE WHEN regexp_full_match(ip, '\d+\.\d+\.\d+\.\d+')
                        THEN regexp_extract(ip, '^(\d+\.\d+\.\d+)\.', 1) ELSE ip END AS net
            FROM {SESSIONS} WHERE session_id IS NOT NULL AND ip IS NOT NULL
        ), w AS (
            SELECT *, max(t1) OVER prev AS prev_t1, last_value(net) OVER prev AS prev_net
            FROM n
            WINDOW prev AS (PARTITION BY user_id ORDER BY t0, session_id
                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        )
        SELECT org_id, count(DISTINCT user_id),
               count(DISTINCT user_id) FILTER (WHERE t0 < prev_t1 AND net <> prev_net),
               count(*) FILTER (WHERE t0 < prev_t1 AND net <> prev_net)
        FROM w GROUP BY org_id
        """,
        [],
        ["users_with_sessions", "users_concurrent", "concurrent_overlaps"],
    )
    # NTK-02: views by a role or org type the config entitles to read across caseloads (MASH,
    # national partners), with an allow-listed purpose (the explanations of
    # audit_kit.detectors.explained), or by a duty / out-of-hours user of a child of the body's own
    # area need no case of their own; every other view should trace to an involvement of the body
    # with the child active that day (UTC; several involvements of one body with one child are
    # taken as their overall span). Entitled views are left out of the rate, so a large MASH team
    # cannot dilute its colleagues' unexplained reads.
    across = " OR ".join((
        _glob_any("lower(u.role)", entitlements.cross_area_roles),
        _glob_any("lower(o.type)", entitlements.cross_area_org_types),
        "v.allowed_purpose",
    ))
    duty = _glob_any("lower(u.role)", entitlements.out_of_hours_roles)
    fill(
        f"""
        WITH vu AS (
            SELECT v.org_id, v.record_id, v.n, coalesce({across}, false) AS across,
                   coalesce({duty}, false) AS duty, o.area
            FROM {VIEWS} v
            LEFT JOIN users u ON u.user_id = v.user_id LEFT JOIN organisations o ON o.org_id = v.org_id
            WHERE NOT v.involved
        ), ent AS (
            SELECT org_id, sum(n) AS n FROM vu WHERE across GROUP BY org_id
            UNION ALL
            -- only duty reads need the child's home area
            SELECT vu.org_id, sum(vu.n) FROM vu JOIN subjects sj ON sj.record_id = vu.record_id
            WHERE vu.duty AND NOT vu.across AND sj.home_area = vu.area GROUP BY vu.org_id
        ), tot AS (
            SELECT org_id, sum(n) AS n, sum(n) FILTER (WHERE involved) AS inv_n FROM {VIEWS} GROUP BY org_id
        ), e AS (SELECT org_id, sum(n) AS n FROM ent GROUP BY org_id)
        SELECT tot.org_id, tot.n::BIGINT, coalesce(tot.inv_n, 0)::BIGINT, coalesce(e.n, 0)::BIGINT
        FROM tot LEFT JOIN e USING (org_id)
        """,
        [],
        ["reads", "involved_reads", "entitled_reads"],
    )
    # NTK-03: overrides (break_glass events, whatever their outcome: an attempt is an override) and
    # those of a child the body has no involvement with; reads of shielded children for context.
    fill(
        f"""
        WITH inv AS (SELECT DISTINCT record_id, org_id FROM involvements),
        o AS (
            SELECT e.org_id, count(*) AS overrides, count(*) FILTER (WHERE inv.record_id IS NULL) AS unexplained
            FROM events e LEFT JOIN inv ON inv.record_id = e.record_id AND inv.org_id = e.org_id
            WHERE e.timestamp >= ? AND e.timestamp < ? AND e.break_glass GROUP BY e.org_id
        ), r AS (
            SELECT e.org_id, count(*) AS n, count(*) FILTER (WHERE inv.record_id IS NULL) AS unexplained,
                   count(DISTINCT e.record_id) AS children, count(DISTINCT e.user_id) AS users
            FROM events e
            LEFT JOIN inv ON inv.record_id = e.record_id AND inv.org_id = e.org_id
            WHERE e.timestamp >= ? AND e.timestamp < ? AND e.outcome = 'success'
              AND e.action IN {_sql_list(READ_ACTIONS)}
              AND e.record_id IN (SELECT record_id FROM subjects WHERE shielded)
            GROUP BY e.org_id
        )
        SELECT coalesce(r.org_id, o.org_id), r.n::BIGINT, o.overrides, o.unexplained, r.unexplained::BIGINT,
               r.children, r.users
        FROM r FULL JOIN o ON o.org_id = r.org_id
        """,
        [*params, *params],
        ["shielded_reads", "shielded_overrides", "overrides_unexplained", "shielded_unexplained",
         "shielded_children_read", "shielded_users"],
    )
    # NTK-05: ad-hoc exports are successful exports without an allow-listed purpose (scheduled
    # statutory returns are expected); prints are counted for context only.
    fill(
        f"""
        WITH case_n AS (SELECT org_id, count(DISTINCT record_id) AS caseload FROM involvements GROUP BY org_id),
        ex AS (
            SELECT org_id, user_id, action, CAST(timestamp AS DATE) AS d,
                   coalesce({_glob_any("lower(purpose)", allowed_purposes)}, false) AS allowed_purpose, 1 AS n
            FROM events
            WHERE timestamp >= ? AND timestamp < ? AND outcome = 'success' AND action IN {_sql_list(EXPORT_ACTIONS)}
        ),
        agg AS (
            SELECT org_id, sum(n) AS events, sum(n) FILTER (WHERE action = 'export') AS exports,
                   sum(n) FILTER (WHERE action = 'export' AND NOT allowed_purpose) AS adhoc,
                   count(DISTINCT user_id) FILTER (WHERE action = 'export' AND NOT allowed_purpose) AS adhoc_users
            FROM ex GROUP BY org_id
        ), peak AS (
            SELECT org_id, max(n) AS n FROM (
                SELECT org_id, user_id, d, sum(n) AS n FROM ex
                WHERE action = 'export' AND NOT allowed_purpose GROUP BY ALL)
            GROUP BY org_id
        )
        SELECT o.org_id, coalesce(c.caseload, 0), coalesce(a.events, 0)::BIGINT, coalesce(a.exports, 0)::BIGINT,
               coalesce(a.adhoc, 0)::BIGINT, coalesce(a.adhoc_users, 0), coalesce(p.n, 0)::BIGINT
        FROM organisations o
        LEFT JOIN case_n c USING (org_id) LEFT JOIN agg a USING (org_id) LEFT JOIN peak p USING (org_id)
        """,
        params,
        ["caseload", "export_events", "exported_records", "adhoc_exports", "adhoc_export_users",
         "max_user_day_export"],
    )


def _measure_networks(
    ws: Workspace, window: Window, out: dict[str, OrgMeasures], declared: Mapping[str, list[str]]
) -> None:
    # Group by (org, address) in the engine; match the few distinct addresses to the declared
    # ranges in Python (ipaddress handles IPv4 and IPv6 the same way).
    rows = ws.sql(
        """SELECT org_id, source_ip, count(*) FROM events
           WHERE timestamp >= ? AND timestamp < ? AND source_ip IS NOT NULL GROUP BY ALL""",
        [window.start, window.end],
    ).fetchall()
    nets = {org: parse_networks(texts) for org, texts in declared.items()}
    for org_id, ip, n in rows:
        m = out.get(org_id)
        if m is None:
            continue
        m.ip_events += n
        org_nets = nets.get(org_id)
        if not org_nets:
            continue
        m.declared_networks = [str(x) for x in org_nets]
        if not _in_networks(ip, org_nets):
            m.undeclared_ip_events += n
            m.undeclared_ips.append(ip)
    for org_id, org_nets in nets.items():
        if org_id in out and org_nets:
            out[org_id].declared_networks = [str(x) for x in org_nets]
    for m in out.values():
        m.undeclared_ips.sort()


def _measure_gaps(ws: Workspace, window: Window, out: dict[str, OrgMeasures]) -> None:
    # Daily counts per org are small (orgs × days). A silence counts as a gap only when it touches a
    # weekday and the org's usual weekday volume makes silence implausible by chance: expected
    # events over the silent weekdays of at least GAP_MIN_EXPECTED (P(0 events) ≈ e^-30).
    rows = ws.sql(
        """SELECT org_id, CAST(timestamp AS DATE) AS d, count(*) FROM events
           WHERE timestamp >= ? AND timestamp < ? GROUP BY ALL""",
        [window.start, window.end],
    ).fetchall()
    counts: dict[str, dict[date, int]] = {}
    for org_id, d, n in rows:
        counts.setdefault(org_id, {})[d] = n
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


def _measure_reach(ws: Workspace, window: Window, out: dict[str, OrgMeasures]) -> None:
    rows = ws.sql(
        f"""
        WITH reach AS (
            SELECT DISTINCT org_id, record_id FROM involvements
            UNION
            SELECT DISTINCT org_id, record_id FROM {VIEWS} WHERE NOT involved
        ), users_n AS (
            SELECT org_id, count(*) AS n FROM users
            WHERE (end_date IS NULL OR end_date >= ?) GROUP BY org_id
        )
        SELECT o.org_id, count(r.record_id), count(r.record_id) FILTER (WHERE s.shielded),
               any_value(u.n)
        FROM organisations o
        LEFT JOIN reach r USING (org_id)
        LEFT JOIN subjects s ON s.record_id = r.record_id
        LEFT JOIN users_n u ON u.org_id = o.org_id
        GROUP BY o.org_id
        """,
        [window.as_of],
    ).fetchall()
    for org_id, children, shielded, users in rows:
        m = out[org_id]
        m.children_reachable, m.shielded_reachable, m.users = int(children), int(shielded), int(users or 0)


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


@dataclass(frozen=True)
class Entitled:
    """Who may read across caseloads (mirrors audit_kit.config.Entitlements' defaults)."""

    cross_area_roles: tuple[str, ...] = ("*mash*", "*safeguarding_hub*")
    cross_area_org_types: tuple[str, ...] = ("national_partner",)
    out_of_hours_roles: tuple[str, ...] = ("*duty*", "*out_of_hours*", "*out-of-hours*", "*emergency*", "*ooh*")


def _glob_any(column: str, globs: Iterable[str]) -> str:
    """SQL that is true when `column` matches any of the shell globs ('false' for none)."""
    parts = [f"{column} LIKE '{_like(g)}' ESCAPE '\\'" for g in globs]
    return "(" + " OR ".join(parts) + ")" if parts else "false"


def _like(glob: str) -> str:
    """A shell glob as a lower-case SQL LIKE pattern (with backslash escapes), quotes doubled."""
    pat = glob.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return pat.replace("*", "%").replace("?", "_").replace("'", "''")


def _sql_list(values: Iterable[str]) -> str:
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"
