"""Normal, legitimate traffic: sessions in working hours, caseload-driven record choice, searches,
prints and exports, failed logins, duty nights, MASH and national reads, statutory returns, syncs.

Everything is drawn as whole numpy arrays (one row per session, then one per event); no Python loop
runs per event, so ten million events take seconds.

(Why this module runs past 400 lines: the ordinary working day of every kind of staff (sessions, caseloads,
searches, exports) and the stress knobs that bend it; one generator whose parts share one clock and random
stream.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from audit_kit.schema import ACTIONS, OUTCOMES
from audit_kit.synth.clock import HOUR, Clock
from audit_kit.synth.population import (
    GP,
    IPS_PER_ORG,
    LA,
    NATIONAL,
    NHS,
    R_ADMIN,
    R_ANALYST,
    R_DUTY,
    R_MANAGER,
    R_MASH,
    R_SERVICE,
    ROLES,
    TEAM_ROLES,
    UNDECLARED_POOL,
    World,
    undeclared_ip_base,
)

AUTH_METHODS = ("mfa", "smartcard", "password", "api_key")
A_MFA, A_SMARTCARD, A_PASSWORD, A_API_KEY = range(4)
PURPOSES = (
    "direct_care",
    "safeguarding",
    "case_review",
    "referral",
    "education",
    "investigation",
    "statutory_return",
    "data_sync",
    "emergency",
    "inspection",
)
(
    P_DIRECT,
    P_SAFEGUARDING,
    P_REVIEW,
    P_REFERRAL,
    P_EDUCATION,
    P_INVESTIGATION,
    P_STATUTORY,
    P_SYNC,
    P_EMERGENCY,
    P_INSPECTION,
) = range(len(PURPOSES))
ACT = {name: i for i, name in enumerate(ACTIONS)}
OUT = {name: i for i, name in enumerate(OUTCOMES)}
V, SEARCH, CREATE, UPDATE, DELETE, EXPORT, PRINT, LOGIN, LOGOUT = (
    ACT[a] for a in ("view", "search", "create", "update", "delete", "export", "print", "login", "logout")
)
SUCCESS, DENIED, FAILURE = OUT["success"], OUT["denied"], OUT["failure"]

# Record-action mix per role, over (view, search, create, update, delete, export, print).
_MIX_ACTIONS = np.array([V, SEARCH, CREATE, UPDATE, DELETE, EXPORT, PRINT], dtype=np.int8)
_MIX = np.array(
    [
        [0.66, 0.14, 0.04, 0.12, 0.002, 0.0, 0.038],  # caseworker
        [0.75, 0.12, 0.01, 0.08, 0.0, 0.0, 0.04],  # manager
        [0.55, 0.20, 0.08, 0.15, 0.01, 0.0, 0.01],  # admin
        [0.68, 0.20, 0.04, 0.06, 0.0, 0.0, 0.02],  # duty
        [0.65, 0.25, 0.03, 0.05, 0.0, 0.0, 0.02],  # mash
        [0.68, 0.10, 0.05, 0.15, 0.002, 0.0, 0.018],  # clinician
        [0.72, 0.08, 0.04, 0.14, 0.0, 0.0, 0.02],  # gp
        [0.80, 0.10, 0.02, 0.06, 0.0, 0.0, 0.02],  # teacher
        [0.66, 0.24, 0.02, 0.05, 0.0, 0.0, 0.03],  # officer
        [0.60, 0.35, 0.0, 0.0, 0.0, 0.0, 0.05],  # analyst
        [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],  # service
    ]
)
_MIX_CUM = np.cumsum(_MIX / _MIX.sum(axis=1, keepdims=True), axis=1)
# Purposes each role gives (one drawn per event; a quarter of events leave it blank).
_ROLE_PURPOSES = (
    (P_SAFEGUARDING, P_REVIEW, P_REFERRAL),
    (P_REVIEW, P_SAFEGUARDING),
    (P_REVIEW,),
    (P_SAFEGUARDING, P_REFERRAL),
    (P_SAFEGUARDING, P_REFERRAL),
    (P_DIRECT,),
    (P_DIRECT,),
    (P_EDUCATION, P_SAFEGUARDING),
    (P_INVESTIGATION, P_SAFEGUARDING),
    (P_REVIEW,),
    (P_SYNC,),
)
assert len(_ROLE_PURPOSES) == len(ROLES) == len(_MIX)

COLUMNS = ("ts", "user", "org", "rec", "action", "outcome", "ip", "auth", "purpose", "session", "nret", "bg")
_DTYPES = {
    "ts": np.int64,
    "user": np.int32,
    "org": np.int32,
    "rec": np.int32,
    "action": np.int8,
    "outcome": np.int8,
    "ip": np.int32,
    "auth": np.int8,
    "purpose": np.int8,
    "session": np.int64,
    "nret": np.int32,
    "bg": np.int8,
}
# Missing values: -1 everywhere (no record, no IP, blank purpose, no session, null break_glass).
_DEFAULTS = {"outcome": SUCCESS}


@dataclass
class EventBuffer:
    """Events as integer-coded columns; parts are appended, then concatenated once."""

    parts: list[dict[str, np.ndarray]] = field(default_factory=list)

    def add(self, **cols: np.ndarray | int) -> int:
        n = (
            max(np.size(v) for v in cols.values() if np.ndim(v) > 0)
            if any(np.ndim(v) > 0 for v in cols.values())
            else 1
        )
        part = {}
        for name in COLUMNS:
            value = cols.get(name, _DEFAULTS.get(name, -1))
            arr = np.asarray(value, dtype=_DTYPES[name])
            part[name] = np.broadcast_to(arr, (n,)).copy() if arr.ndim == 0 else arr
        unknown = set(cols) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown event columns {sorted(unknown)}")
        self.parts.append(part)
        return n

    def concat(self) -> dict[str, np.ndarray]:
        return {name: np.concatenate([p[name] for p in self.parts]) for name in COLUMNS}


@dataclass
class Sessions:
    """Normal interactive sessions (one row each), kept so scenarios can act inside a real session."""

    user: np.ndarray
    day: np.ndarray
    start: np.ndarray  # UTC epoch seconds
    end: np.ndarray
    ip: np.ndarray
    auth: np.ndarray
    sid: np.ndarray

    def of_user(self, u: int, days: np.ndarray | None = None) -> np.ndarray:
        """Row indexes of user u's sessions, optionally only on the given day indexes."""
        rows = np.nonzero(self.user == u)[0]
        if days is not None:
            rows = rows[np.isin(self.day[rows], days)]
        return rows


class SessionIds:
    """Hands out session numbers in generation order (stable per seed)."""

    def __init__(self) -> None:
        self.next = 1

    def take(self, n: int) -> np.ndarray:
        out = np.arange(self.next, self.next + n, dtype=np.int64)
        self.next += n
        return out


def pick_records(world: World, users: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Children each user would normally open, by role: team caseload, org caseload, area, anywhere.

    Returns (child index, from_caseload) — from_caseload is False for the background share of
    reads with no involvement (noise) and for area-wide or national reads.
    """
    n = len(users)
    role = world.user_role[users]
    org = world.user_org[users]
    team = world.user_team[users]
    area = world.org_area[org]
    noise = world.practice.noise_share[org]
    r = rng.random(n)
    r2 = rng.random(n)
    rec = np.empty(n, dtype=np.int64)
    caseload = np.zeros(n, dtype=bool)
    n_children = world.n_children

    org_len = world.org_pool_off[org + 1] - world.org_pool_off[org]
    has_org = org_len > 0
    team_ok = team >= 0
    tt = np.where(team_ok, team, 0)
    team_len = np.where(team_ok, world.team_pool_off[tt + 1] - world.team_pool_off[tt], 0)
    rot = world.user_rot[users]

    def from_team(mask: np.ndarray) -> None:
        ln = team_len[mask]
        idx = (rot[mask] + (ln * r2[mask] ** 1.6).astype(np.int64)) % ln
        rec[mask] = world.team_pool[world.team_pool_off[tt[mask]] + idx]
        caseload[mask] = True

    def from_org(mask: np.ndarray, skew: float = 1.0) -> None:
        ln = org_len[mask]
        idx = (rot[mask] + (ln * r2[mask] ** skew).astype(np.int64)) % ln
        rec[mask] = world.org_pool[world.org_pool_off[org[mask]] + idx]
        caseload[mask] = True

    def from_area(mask: np.ndarray) -> None:
        a = area[mask]
        national = a < 0
        a = np.where(national, world.child_area[(r2[mask] * n_children).astype(np.int64)], a)
        lo, hi = world.area_child_off[a], world.area_child_off[a + 1]
        rec[mask] = lo + ((hi - lo) * rng.random(int(mask.sum()))).astype(np.int64)

    def from_anywhere(mask: np.ndarray) -> None:
        rec[mask] = (rng.random(int(mask.sum())) * n_children).astype(np.int64)

    is_team_role = np.isin(role, TEAM_ROLES) & team_ok & (team_len > 0)
    m_team = is_team_role & (r < 0.9 - noise)
    m_org = (is_team_role & ~m_team & (r < 1 - noise)) | (
        np.isin(role, (R_MANAGER, R_ADMIN, R_SERVICE)) & has_org & (r < 1 - noise)
    )
    m_duty_org = (role == R_DUTY) & has_org & (r < 0.7)
    m_mash_any = (role == R_MASH) & (r >= 0.85)
    m_any = (role == R_ANALYST) | m_mash_any | (org_len == 0) & ~np.isin(role, (R_MASH, R_DUTY))
    if m_team.any():
        from_team(m_team)
    if m_org.any():
        from_org(m_org, 1.5)
    if m_duty_org.any():
        from_org(m_duty_org)
    rest = ~(m_team | m_org | m_duty_org | m_any)
    if rest.any():
        from_area(rest)
    if m_any.any():
        from_anywhere(m_any)
    # Reads move to a neighbouring child until none is one that normal work never opens:
    # - the member of staff's own household (households are consecutive, at most 4 long);
    # - outside the caseload, a child whose involvement with the org has ended (lingering_access
    #   must stand out against a clean baseline) or a shielded child (opened only by those serving it).
    fam_all = world.user_family[users]
    ended = world.ended_keys
    idx: np.ndarray = np.arange(n)  # only the reads just moved need checking again
    for _ in range(12):
        r, fam, org_i = rec[idx], fam_all[idx], org[idx]
        bad = (fam >= 0) & (world.child_family[r] == fam)
        outside_bad = world.child_shielded[r]
        if len(ended):
            key = r * world.n_orgs + org_i
            pos = np.clip(np.searchsorted(ended, key), 0, len(ended) - 1)
            outside_bad |= ended[pos] == key
        bad |= ~caseload[idx] & outside_bad
        idx = idx[bad]
        if len(idx) == 0:
            break
        rec[idx] = (rec[idx] + np.where(fam_all[idx] >= 0, 4, 1)) % n_children
    browse = world.params.browsing
    if browse > 0:
        # The stress knob: ordinary staff read some children of their area the organisation has no
        # involvement with (a sibling, a new referral, a name that came up) - shielded children
        # and closed cases included, at their base rate. Legitimate, unlabelled.
        m = np.isin(role, (*TEAM_ROLES, R_MANAGER)) & (area >= 0) & (rng.random(n) < browse)
        if m.any():
            a = area[m]
            lo, hi = world.area_child_off[a], world.area_child_off[a + 1]
            pick = lo + ((hi - lo) * rng.random(int(m.sum()))).astype(np.int64)
            own = (fam_all[m] >= 0) & (world.child_family[pick] == fam_all[m])
            pick = np.where(own, lo + (pick - lo + 4) % np.maximum(hi - lo, 1), pick)
            rec[m] = pick
            caseload[m] = False
    return rec.astype(np.int32), caseload


def _purposes(role: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.full(len(role), -1, dtype=np.int8)
    r = rng.random(len(role))
    pick = rng.integers(0, 6, len(role))
    for ri, choices in enumerate(_ROLE_PURPOSES):
        m = (role == ri) & (r >= 0.25)
        if m.any():
            out[m] = np.asarray(choices, dtype=np.int8)[pick[m] % len(choices)]
    return out


def session_auth(world: World, users: np.ndarray) -> np.ndarray:
    """The authentication each user's interactive sessions use (mfa/smartcard if enrolled)."""
    strong = np.where(world.user_strong_auth[users] == 1, A_SMARTCARD, A_MFA)
    return np.where(world.user_mfa[users], strong, A_PASSWORD).astype(np.int8)


def emit_session_events(
    world: World,
    buf: EventBuffer,
    rng: np.random.Generator,
    users: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    ip: np.ndarray,
    auth: np.ndarray,
    sid: np.ndarray,
    n_events: np.ndarray,
    logout_share: float = 0.85,
    failed_share: float = 0.03,
) -> int:
    """Login, record actions drawn from each user's role and caseload, logout; returns events added."""
    org = world.user_org[users]
    n_s = len(users)
    total = buf.add(ts=start, user=users, org=org, action=LOGIN, ip=ip, auth=auth, session=sid)
    out = rng.random(n_s) < logout_share
    total += buf.add(
        ts=end[out],
        user=users[out],
        org=org[out],
        action=LOGOUT,
        ip=ip[out],
        auth=auth[out],
        session=sid[out],
    )
    # mistyped passwords: a failed attempt or two just before the session (no session yet)
    fail = np.nonzero(rng.random(n_s) < failed_share)[0]
    fail = np.repeat(fail, rng.integers(1, 3, len(fail)))
    if len(fail):
        total += buf.add(
            ts=start[fail] - rng.integers(5, 120, len(fail)),
            user=users[fail],
            org=org[fail],
            action=LOGIN,
            outcome=FAILURE,
            ip=ip[fail],
            auth=auth[fail],
        )

    ev_s = np.repeat(np.arange(n_s), n_events)
    n = len(ev_s)
    if n == 0:
        return total
    eu = users[ev_s]
    role = world.user_role[eu]
    span = np.maximum(end[ev_s] - start[ev_s], 1)
    ts = start[ev_s] + (rng.random(n) * span).astype(np.int64)
    action = _MIX_ACTIONS[(rng.random(n)[:, None] > _MIX_CUM[role]).sum(axis=1).clip(0, 6)]
    eo = world.user_org[eu]
    # where exports are not controlled, ordinary staff export records now and then
    loose = world.practice.uncontrolled_exports[eo] & ~np.isin(role, (R_ADMIN, R_SERVICE))
    action = np.where(loose & (action == V) & (rng.random(n) < 0.006), EXPORT, action)
    rec, _ = pick_records(world, eu, rng)
    search = action == SEARCH
    rec = np.where(search, -1, rec)
    nret = np.where(search, np.minimum(rng.geometric(0.25, n) - 1, 60), -1)
    outcome = np.where(~search & (rng.random(n) < 0.002), DENIED, SUCCESS)
    total += buf.add(
        ts=ts,
        user=eu,
        org=eo,
        rec=rec,
        action=action,
        outcome=outcome,
        ip=ip[ev_s],
        auth=auth[ev_s],
        purpose=_purposes(role, rng),
        session=sid[ev_s],
        nret=nret,
    )
    return total


def _plan_sessions(world: World, clock: Clock) -> tuple:
    """Who works which day, and each interactive session's user, day, start and end (UTC seconds)."""
    p = world.params
    rng = world.rng
    n_days = p.days
    weekday = clock.weekdays()
    day_dates = np.datetime64(p.start_date, "D") + np.arange(n_days)
    role = world.user_role
    ended = world.user_end
    employed = (world.user_start[:, None] <= day_dates[None, :]) & (
        np.isnat(ended)[:, None] | (ended[:, None] >= day_dates[None, :])
    )
    duty = (role == R_DUTY)[:, None]
    interactive = (~world.user_idle & (role != R_SERVICE))[:, None]
    draw = rng.random(employed.shape)
    works = employed & interactive & np.where(duty, draw < 0.7, (weekday < 5)[None, :] & (draw < 0.88))
    # the duty rota: a shift (which may run past midnight) is followed by a day off
    duty_rows = np.nonzero(role == R_DUTY)[0]
    for d in range(1, n_days):
        works[duty_rows, d] &= ~works[duty_rows, d - 1]
    cu, cd = np.nonzero(works)
    n_cells = len(cu)
    is_duty = role[cu] == R_DUTY
    # an office day is two to four sessions with breaks between, spanning the working day
    n_sess = np.where(is_duty, 2, 2 + rng.binomial(2, 0.5, n_cells))
    s_cell = np.repeat(np.arange(n_cells), n_sess)
    n_s = len(s_cell)
    first_of_cell = np.concatenate([[0], np.cumsum(n_sess)[:-1]])
    s_duty = is_duty[s_cell]
    dur = np.where(s_duty, rng.uniform(120, 240, n_s), rng.uniform(35, 150, n_s))  # a duty shift: 4-8 hours
    gap = np.where(s_duty, rng.uniform(10, 60, n_s), rng.uniform(20, 150, n_s))
    step = dur + gap
    excl = np.cumsum(step) - step
    offset = excl - excl[first_of_cell][s_cell]
    weekend = weekday[cd] >= 5
    first = np.where(
        is_duty,
        # night shifts start by 22:00 and end by 07:15; weekend day shifts start at 10:00 or later, so
        # one shift never overlaps the next (overlapping sessions mean a shared account)
        np.where(weekend, rng.uniform(10, 20, n_cells), rng.uniform(17.5, 22.0, n_cells)),
        np.maximum(world.user_start_hour[cu] + rng.normal(0, 0.25, n_cells), 7.75),
    )
    start_min = first[s_cell] * 60 + offset
    end_min = np.where(s_duty, start_min + dur, np.minimum(start_min + dur, 18.75 * 60))
    keep = s_duty | (start_min < 18.25 * 60)
    s_cell, start_min, end_min = s_cell[keep], start_min[keep], end_min[keep]
    s_user = cu[s_cell]
    s_day = cd[s_cell]
    start = clock.to_utc(clock.local(s_day, start_min * 60))
    end = np.maximum(clock.to_utc(clock.local(s_day, end_min * 60)), start + 300)
    return s_user, s_day, start, end, s_cell, cu


def expected_events(world: World, clock: Clock) -> tuple[float, float]:
    """(events that do not scale, events per unit of --scale) this world would have, approximately.

    Draws from world.rng: call it on a throw-away world built from the same parameters.
    """
    s_user, _, start, end, _, _ = _plan_sessions(world, clock)
    record_events = float((world.user_rate[s_user] * (end - start) / HOUR).sum())  # day factor has mean 1
    n_service = int((world.user_role == R_SERVICE).sum())
    fixed = len(s_user) * (1 + 0.85 + 0.045)  # login, logout, mistyped passwords
    # statutory returns: ~40 exports each Monday and ~210 on the first working day of a month
    fixed += len(_statutory_admins(world)) * world.params.days * (40 / 7 + 210 / 30.4) * 1.02
    return fixed, record_events + n_service * world.params.days * 25


def normal_traffic(world: World, clock: Clock, buf: EventBuffer, ids: SessionIds) -> Sessions:
    """Every legitimate session and event of the period; returns the interactive sessions."""
    p = world.params
    rng = world.rng
    s_user, s_day, start, end, s_cell, cell_user = _plan_sessions(world, clock)
    n_s = len(s_user)

    # network: the user's usual desk, sometimes another desk, sometimes home (undeclared) where the
    # org lets staff work from unmanaged networks
    org = world.user_org[s_user]
    ip = world.user_ip[s_user].astype(np.int64)
    hot = rng.random(n_s) < 0.1
    ip[hot] = org[hot].astype(np.int64) * IPS_PER_ORG + rng.integers(1, IPS_PER_ORG, int(hot.sum()))
    home = rng.random(n_s) < world.practice.undeclared_share[org]
    ip[home] = undeclared_ip_base(world) + (s_user[home].astype(np.int64) * 7919) % UNDECLARED_POOL
    auth = session_auth(world, s_user)
    sid = ids.take(n_s)

    # busy and quiet days (mean 1); the duty and MASH rotas are staffed for a steady flow of referrals
    shape = np.where(np.isin(world.user_role[cell_user], (R_DUTY, R_MASH)), 12.0, 5.0)
    day_mult = rng.gamma(shape, 1.0 / shape)[s_cell]
    hours = (end - start) / HOUR
    lam = world.user_rate[s_user] * p.scale * day_mult * hours
    n_events = rng.poisson(lam)
    emit_session_events(world, buf, rng, s_user, start, end, ip.astype(np.int32), auth, sid, n_events)

    _service_syncs(world, clock, buf, ids)
    _statutory_returns(world, clock, buf, ids)
    return Sessions(user=s_user, day=s_day, start=start, end=end, ip=ip.astype(np.int32), auth=auth, sid=sid)


def _service_syncs(world: World, clock: Clock, buf: EventBuffer, ids: SessionIds) -> None:
    """Nightly data syncs by service accounts (API key, 01:30-02:30 local): odd hours, every night."""
    rng = world.rng
    svc = np.nonzero(world.user_role == R_SERVICE)[0]
    if len(svc) == 0:
        return
    su = np.repeat(svc, world.params.days)
    sd = np.tile(np.arange(world.params.days), len(svc))
    start = clock.to_utc(clock.local(sd, rng.uniform(1.5, 2.5, len(su)) * HOUR))
    end = start + rng.integers(600, 2400, len(su))
    org = world.user_org[su]
    ip = (org.astype(np.int64) * IPS_PER_ORG).astype(np.int32)  # host 0: the sync server
    auth = np.full(len(su), A_API_KEY, dtype=np.int8)
    n_events = rng.poisson(25 * world.params.scale, len(su))
    emit_session_events(world, buf, rng, su, start, end, ip, auth, ids.take(len(su)), n_events, 1.0, 0.0)


def _statutory_admins(world: World) -> list[tuple[int, int]]:
    """(org, admin) pairs making statutory returns: councils, trusts, national partners, half the GPs."""
    pairs = []
    for o in np.nonzero(np.isin(world.org_type, (LA, NHS, NATIONAL, GP)))[0]:
        admins = np.nonzero((world.user_org == o) & (world.user_role == R_ADMIN) & ~world.user_idle)[0]
        if len(admins) and not (world.org_type[o] == GP and o % 2):
            pairs.append((int(o), int(admins[0])))
    return pairs


def _statutory_returns(world: World, clock: Clock, buf: EventBuffer, ids: SessionIds) -> None:
    """Recurring statutory returns: an admin exports a batch every Monday and a larger one on the
    first working day of each month (07:00 local, purpose statutory_return). Legitimate."""
    rng = world.rng
    weekday = clock.weekdays()
    days = np.arange(world.params.days)
    dates = [clock.day_date(int(d)) for d in days]
    first_working = np.zeros(len(days), dtype=bool)
    seen_month: set[tuple[int, int]] = set()
    for d in days:
        month = (dates[d].year, dates[d].month)
        # a month whose first working day fell before the period started has no return in it
        if weekday[d] < 5 and month not in seen_month:
            seen_month.add(month)
            first_working[d] = dates[d].day <= 3
    for o, u in _statutory_admins(world):
        pool = world.org_children(o) if len(world.org_children(o)) else np.arange(world.n_children)
        for d in days:
            if first_working[d]:
                k = int(rng.integers(120, 300))
            elif weekday[d] == 0:
                k = int(rng.integers(20, 60))
            else:
                continue
            if world.user_start[u] > np.datetime64(dates[d], "D"):
                continue
            start = clock.utc_of_day(int(d), 7.0 + rng.uniform(0, 0.1))
            end = start + int(rng.integers(900, 2100))
            sid = ids.take(1)[0]
            ip = int(world.user_ip[u])
            auth = int(session_auth(world, np.array([u]))[0])
            k = min(k, len(pool))
            recs = rng.choice(pool, size=k, replace=False)
            buf.add(ts=np.array([start]), user=u, org=o, action=LOGIN, ip=ip, auth=auth, session=sid)
            buf.add(
                ts=np.sort(start + rng.integers(30, end - start, k)),
                user=u,
                org=o,
                rec=recs,
                action=EXPORT,
                ip=ip,
                auth=auth,
                purpose=P_STATUTORY,
                session=sid,
            )
            buf.add(ts=np.array([end]), user=u, org=o, action=LOGOUT, ip=ip, auth=auth, session=sid)
