"""Sessions, with or without the log's `session_id`: one definition for the detectors and the assessment.

Many real logs carry no session id. A session is then **derived**: the events of one account from one
network (the /16 of an IPv4 source address, else the whole address) with one authentication method,
split where the account signs in again or falls silent for more than `gap_minutes` (30). Where the
log gives a `session_id`, it is kept, but a session id that spans two networks or two authentication
methods is split too (a second person on the same session token is exactly what must show).
Failed and refused sign-ins belong to no session.

So the same account used minutes apart from two networks, one of them outside and password-only, is
two sessions (never folded into the owner's MFA session), which `concurrent_sessions`, `weak_auth`
and the assessment's MFA corroboration all see the same way.

An organisation's **own networks** (`own_networks`) are the networks two or more of its users work
from in the sessions given: its offices and VPN. A session from any other network (a home line,
another body's office) is **outside**: where sharing an account and bypassing a second factor show.

    from audit_kit.detectors.sessions import session_table, sessions_sql
    s = session_table(events_expr)          # an Ibis table, one row per session, on any engine
    sql = sessions_sql(con_or_engine, ...)  # the same as DuckDB SQL over a table named `events`
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

if TYPE_CHECKING:
    import ibis.expr.types as ir

SESSION_GAP_MINUTES = 30
SESSION_COLUMNS = ("user_id", "org_id", "session_key", "derived", "s_start", "s_end", "n", "n_rec", "net", "ip",
                   "auth", "strong")
# Authentication methods that count as more than a password (case-insensitive).
STRONG_METHODS = ("mfa", "smartcard", "token", "hardware_token", "otp", "fido", "fido2", "webauthn", "2fa")
SERVICE_METHODS = ("api_key", "apikey", "service", "certificate", "client_certificate")


def network_of(ip: ir.StringValue) -> ir.StringValue:
    """The network an address belongs to: the /16 of an IPv4 address, else the address itself."""
    v4 = ip.re_extract(r"^(\d+\.\d+)\.\d+\.\d+$", 1)
    return ibis.ifelse(v4.isnull() | (v4 == ""), ip, v4)


def session_events(events: ir.Table, gap_minutes: float = SESSION_GAP_MINUTES) -> ir.Table:
    """`events` (canonical columns) with `session_key` and `derived` added; failed sign-ins dropped."""
    e = events.filter(~((events.action == "login") & (events.outcome != "success")))
    net = network_of(e.source_ip.fill_null(""))
    auth = e.auth_method.lower().fill_null("")
    e = e.mutate(_net=net, _auth=auth, _sid=e.session_id.fill_null(""))
    cols = e.columns
    # A log's own session id is trusted for time (a session may idle for hours): its session is the id, split
    # by network and method, with no ordering needed. Only events without one go through the windows that
    # break a derived session on a new sign-in or a silence longer than the gap (the costly part at 10M).
    own = e.filter(e._sid != "")
    own = own.mutate(session_key=ibis.literal("s:") + own._sid + "|" + own._net + "|" + own._auth,
                     derived=ibis.literal(False))
    d = e.filter(e._sid == "")
    part = ["user_id", "_net", "_auth"]
    login = (d.action == "login") & (d.outcome == "success")
    # Events of the same instant in a set order (a sign-in before what it lets in, then by what they are), so
    # every run and engine cuts the same sessions: ordered by time alone, ties fell either way.
    order = [d.timestamp, ibis.desc(login.cast("int8")),
             *(d[c].cast("string").fill_null("") for c in ("action", "outcome", "record_id", "source_ip", "org_id"))]
    w = ibis.window(group_by=part, order_by=order)
    prev = d.timestamp.lag().over(w)
    gap = d.timestamp.epoch_seconds() - prev.epoch_seconds()
    breaks = prev.isnull() | login | (gap > gap_minutes * 60)
    d = d.mutate(_new=breaks.cast("int64"))
    cum = ibis.cumulative_window(group_by=part, order_by=order)
    d = d.mutate(_seq=d._new.sum().over(cum))
    d = d.mutate(session_key=ibis.literal("d:") + d.user_id + "|" + d._net + "|" + d._auth + "|" + d._seq.cast("string"),
                 derived=ibis.literal(True))
    keep = [*cols, "session_key", "derived"]
    return own.select(*keep).union(d.select(*keep))


def session_table(events: ir.Table, gap_minutes: float = SESSION_GAP_MINUTES) -> ir.Table:
    """One row per session (columns SESSION_COLUMNS): first and last event, network, address, method.

    `strong` is True when the session's method is MFA-class, False for a password (or any other
    interactive method), null when the log does not say or the method is a service's (an API key). Works on any engine Ibis compiles to.
    """
    from audit_kit.schema import RECORD_ACTIONS

    e = session_events(events, gap_minutes)
    rec = e.action.isin(list(RECORD_ACTIONS)) & (e.outcome == "success")
    s = e.group_by(e.user_id, e.session_key).aggregate(
        org_id=e.org_id.max(), derived=e.derived.max(), s_start=e.timestamp.min(), s_end=e.timestamp.max(),
        n=e.count(), n_rec=e.count(where=rec), net=e._net.max(), ip=e.source_ip.max(), auth=e._auth.max(),
    )
    unknown = (s.auth == "") | s.auth.isin(list(SERVICE_METHODS))
    strong = ibis.ifelse(unknown, ibis.null("boolean"), s.auth.isin(list(STRONG_METHODS)))
    return s.mutate(strong=strong, net=s.net.nullif(""))


OWN_NETWORK_MIN_USERS = 2


def own_networks(sessions: ir.Table, min_users: int = OWN_NETWORK_MIN_USERS) -> ir.Table:
    """(`o_org`, `o_net`): the networks at least `min_users` distinct users of an organisation work from.

    Offices and VPNs are shared by colleagues; a home line or a mobile address is one person's, and
    another body's office is another organisation's. `sessions` is a `session_table`.
    """
    s = sessions.filter(sessions.net.notnull())
    g = s.group_by(o_org=s.org_id, o_net=s.net).aggregate(o_users=s.user_id.nunique())
    return g.filter(g.o_users >= min_users).select("o_org", "o_net")


def with_outside(sessions: ir.Table, min_users: int = OWN_NETWORK_MIN_USERS) -> ir.Table:
    """`sessions` with `outside`: True when the session's network is not one of its organisation's own
    (`own_networks`), False when it is, null when the log gives no address."""
    own = own_networks(sessions, min_users)
    j = sessions.left_join(own, (sessions.org_id == own.o_org) & (sessions.net == own.o_net))
    outside = ibis.ifelse(j.net.isnull(), ibis.null("boolean"), j.o_net.isnull())
    return j.select(*[j[c] for c in sessions.columns], outside=outside)


def sessions_sql(gap_minutes: float = SESSION_GAP_MINUTES, table: str = "events") -> str:
    """`session_table` over a DuckDB table named `table`, as SQL text (for the assessment's measures).

    Use it as a sub-query: `WITH sessions AS (<this>) SELECT org_id, count(*) FILTER (WHERE NOT strong) ...`.
    """
    t = ibis.table({"timestamp": "timestamp", "user_id": "string", "org_id": "string", "record_id": "string",
                    "action": "string", "outcome": "string", "source_ip": "string", "auth_method": "string",
                    "session_id": "string"}, name=table)
    return str(ibis.to_sql(session_table(t, gap_minutes), dialect="duckdb"))


__all__ = ["OWN_NETWORK_MIN_USERS", "SESSION_COLUMNS", "SESSION_GAP_MINUTES", "STRONG_METHODS", "network_of",
           "own_networks", "session_events", "session_table", "sessions_sql", "with_outside"]
