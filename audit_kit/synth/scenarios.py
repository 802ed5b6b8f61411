"""Injected, labelled inappropriate access: one scenario family per detector id (truth.csv category).

Scenarios happen mostly in the scan window (the last 14 days), inside the user's real sessions where
a real snooper would act, so each is detectable against the user's and peers' baseline but not
trivially separable by an artefact of the generator. `plan()` runs before normal traffic (it changes
the population: leavers' end dates, dormant accounts, staff family keys); `inject()` runs after.

(Why this module runs past 400 lines: one injector per misuse category and per legitimate-but-odd kind of
work, each short; they share the world's random streams and truth rows, and reading them side by side is how
their realism is reviewed.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audit_kit.synth.clock import HOUR, Clock
from audit_kit.synth.params import CATEGORIES, SCAN_DAYS
from audit_kit.synth.population import (
    FAR_POOL,
    HOURLY_RATE,
    LA,
    NATIONAL,
    NHS,
    TEAM_ROLES,
    UNDECLARED_POOL,
    World,
    far_ip_base,
    undeclared_ip_base,
)
from audit_kit.synth.traffic import (
    A_PASSWORD,
    DENIED,
    EXPORT,
    FAILURE,
    LOGIN,
    LOGOUT,
    P_EMERGENCY,
    PRINT,
    SEARCH,
    EventBuffer,
    SessionIds,
    Sessions,
    V,
    pick_records,
    session_auth,
)

# Scenarios where a snooper reads records they should not: with --adversarial they hide the reads
# among "cover" reads of their own caseload, so their access profile resembles their peers'.
COVERABLE = {
    "out_of_area",
    "no_relationship",
    "family_lookup",
    "vip_snooping",
    "lingering_access",
    "shielded_access",
}


@dataclass
class TruthRow:
    """One labelled scenario: who, where, which detector should catch it, and when it happened."""

    user: int  # -1 for organisation-level scenarios (log_gap)
    org: int
    category: str
    first: int  # UTC epoch seconds
    last: int


@dataclass
class Plan:
    """Which users and organisations carry which scenario (chosen before traffic is drawn)."""

    users: dict[str, list[int]] = field(default_factory=dict)
    gap_orgs: list[int] = field(default_factory=list)
    leaver_end: dict[int, np.datetime64] = field(default_factory=dict)
    family_kids: dict[int, np.ndarray] = field(default_factory=dict)
    vip_kids: list[int] = field(default_factory=list)
    vip_users: dict[int, list[int]] = field(default_factory=dict)


class Scenarios:
    """Plans and injects every category of truth.csv into one world."""

    def __init__(self, world: World, clock: Clock) -> None:
        self.w = world
        self.clock = clock
        self.rng = world.rng
        self.cover_rng = np.random.default_rng([world.params.seed, 2023])
        p = world.params
        self.per_category = int(np.clip(round(p.orgs / 8), 2, 10))
        self.scan_d0 = p.days - SCAN_DAYS
        wd = clock.weekdays()
        self.scan_days = np.arange(self.scan_d0, p.days)
        self.scan_workdays = self.scan_days[wd[self.scan_days] < 5]
        self.scan_utc = clock.utc_of_day(self.scan_d0)
        self.truth: list[TruthRow] = []
        self.plan_ = Plan()
        self._used: set[int] = set()
        self.buf = EventBuffer()

    @property
    def used_users(self) -> set[int]:
        """Every user a scenario was planned for (after `plan()`)."""
        return set(self._used)

    # -- planning ---------------------------------------------------------------------------------
    def _eligible(self) -> np.ndarray:
        w = self.w
        start = np.datetime64(w.params.start_date, "D")
        ok = (
            np.isin(w.user_role, TEAM_ROLES)
            & (w.user_team >= 0)
            & (w.user_start < start)
            & np.isnat(w.user_end)
            & ~w.user_idle
            & (w.org_type[w.user_org] != NATIONAL)
            & ~w.practice.log_gap[w.user_org]
        )
        ok[list(self._used)] = False
        return ok

    def _pick(
        self, org_mask: np.ndarray, user_mask: np.ndarray | None = None, k: int | None = None
    ) -> list[int]:
        """k distinct unused eligible users, spread over the organisations allowed by org_mask."""
        k = self.per_category if k is None else k
        ok = self._eligible() & org_mask[self.w.user_org]
        if user_mask is not None:
            ok &= user_mask
        orgs = self.rng.permutation(np.unique(self.w.user_org[ok]))
        chosen: list[int] = []
        while len(chosen) < k and len(orgs):
            progressed = False
            for o in orgs:
                cand = np.nonzero(ok & (self.w.user_org == o))[0]
                cand = cand[~np.isin(cand, chosen)]
                if len(cand) and len(chosen) < k:
                    chosen.append(int(self.rng.choice(cand)))
                    progressed = True
            if not progressed:
                break
        self._used.update(chosen)
        return chosen

    def plan(self) -> Plan:
        """Choose the scenario users and change the population they need (before traffic)."""
        w, rng, plan = self.w, self.rng, self.plan_
        pr = w.practice
        allorgs = np.ones(w.n_orgs, dtype=bool)
        plan.gap_orgs = [int(o) for o in np.nonzero(pr.log_gap)[0]]
        n_teams = np.bincount(w.team_org, minlength=w.n_orgs)
        ended = np.zeros(w.n_orgs, dtype=bool)
        ended[np.unique(w.inv_org[~np.isnat(w.inv_end)])] = True
        # reading unrelated children needs an area with children the org does not serve
        unrelated = np.zeros(w.n_orgs, dtype=bool)
        for o in range(w.n_orgs):
            a = w.org_area[o]
            if a >= 0:
                served = np.unique(w.inv_rec[w.inv_org == o])
                in_area = (w.area_child_off[a + 1] - w.area_child_off[a]) - np.count_nonzero(
                    w.child_area[served] == a
                )
                unrelated[o] = in_area >= 150
        # a misfit needs communities to misfit: several teams, and enough reads to judge
        # (councils and trusts first: their caseloads are large enough to form distinct communities)
        teams = np.where(pr.log_gap, 0, n_teams)
        peer_orgs = teams >= (3 if (teams >= 3).any() else 2)
        big = peer_orgs & np.isin(w.org_type, (LA, NHS))
        peer_orgs = big if big.any() else peer_orgs
        peer_users: np.ndarray | None = w.user_rate >= HOURLY_RATE[w.user_role]
        if not (self._eligible() & peer_orgs[w.user_org] & peer_users).any():
            peer_users = None
        # (category, organisations allowed, users allowed): organisation-dependent ones first, as
        # their pools are the smallest
        specs: list[tuple[str, np.ndarray, np.ndarray | None]] = [
            ("leaver_account", pr.weak_leavers, None),
            # someone else on a forgotten account reads children nobody there works with: an
            # organisation that does not serve every child of its area
            ("dormant_account", pr.weak_dormant & unrelated if (pr.weak_dormant & unrelated).any() else pr.weak_dormant,
             None),
            ("concurrent_sessions", pr.shared_accounts, None),
            ("shielded_access", pr.overrides, None),
            ("export_spike", pr.uncontrolled_exports, None),
            ("weak_auth", ~pr.weak_mfa, w.user_mfa),
            ("peer_outlier", peer_orgs, peer_users),
            ("lingering_access", ended, None),
            # snooping is visible against an organisation that mostly reads its own caseload; where
            # unexplained reads are routine the finding is the organisation's (explained_share)
            (
                "no_relationship",
                unrelated & ~pr.weak_explained if (unrelated & ~pr.weak_explained).any() else unrelated,
                None,
            ),
            ("denied_spike", unrelated, None),
        ]
        specs += [
            (c, allorgs, None)
            for c in CATEGORIES
            if c not in {s[0] for s in specs} | {"log_gap", "vip_snooping"}
        ]
        # With `misuse_share` (the stress matrix), a realistic prevalence: one user for each of a
        # seeded draw of categories (a child in the news counts its six readers), not every category.
        counts: dict[str, int] | None = None
        if w.params.misuse_share:
            draw = np.random.default_rng([w.params.seed, 16_003])
            cats = [c for c in CATEGORIES if c != "log_gap"]
            budget = max(3, round(w.params.misuse_share * w.n_users))
            counts = {c: 0 for c in cats}
            for c in [cats[i] for i in draw.permutation(len(cats))] * 4:
                if budget <= 0:
                    break
                counts[c] += 1
                budget -= 6 if c == "vip_snooping" else 1
        # VIP: a few children in the news, read by many unrelated staff across organisations
        n_vip = 1 if w.params.orgs < 8 else 2 if w.params.orgs < 40 else 3  # each needs many readers
        if counts is not None:
            n_vip = min(counts["vip_snooping"], 1)
        candidates = np.nonzero(~w.child_shielded)[0]
        plan.vip_kids = [int(k) for k in rng.choice(candidates, size=n_vip, replace=False)]
        local = (w.org_type != NATIONAL) & ~pr.log_gap
        vip_orgs = {}
        for kid in plan.vip_kids:
            involved = np.zeros(w.n_orgs, dtype=bool)
            involved[w.inv_org[w.inv_rec == kid]] = True
            vip_orgs[kid] = local & ~involved
            plan.vip_users[kid] = []
        # two rounds, so that a world too small for every instance still has every category
        vip_k = int(np.clip(round(w.params.orgs / 2), 6, 25)) if counts is None else 6
        for per_cat, per_vip in ((1, 4), (self.per_category, vip_k)):
            for cat, orgs, users in specs:
                want = per_cat if counts is None else min(per_cat, counts[cat])
                have = plan.users.setdefault(cat, [])
                have += self._pick(orgs, users, k=max(0, want - len(have)))
            for kid in plan.vip_kids:
                have = plan.vip_users[kid]
                have += self._pick(vip_orgs[kid], k=max(0, per_vip - len(have)))

        # leavers: left a few days before the scan window; weak orgs never disabled the account
        for u in plan.users["leaver_account"]:
            left = np.datetime64(self.clock.day_date(int(self.scan_d0)), "D") - np.timedelta64(
                int(rng.integers(3, 12)), "D"
            )
            w.user_end[u] = left
            plan.leaver_end[u] = left
        # dormant: an old account nobody used for months (no traffic in the whole period) that wakes up
        for u in plan.users["dormant_account"]:
            w.user_idle[u] = True
            w.user_start[u] = np.datetime64(w.params.start_date, "D") - np.timedelta64(
                int(rng.integers(200, 900)), "D"
            )
        # family lookups: the user's own household is in the database (family_key shared with children)
        for u in plan.users["family_lookup"]:
            a = w.org_area[w.user_org[u]]
            kid = int(rng.integers(w.area_child_off[a], w.area_child_off[a + 1]))
            # a family the organisation does not serve: looking them up has no reason but kinship (a
            # family on the organisation's books is the legitimate-but-odd case, listed low)
            served_kids: set[int] = set(w.inv_rec[w.inv_org == w.user_org[u]].tolist())
            for _ in range(50):
                if not served_kids & set(np.nonzero(w.child_family == w.child_family[kid])[0].tolist()):
                    break
                kid = int(rng.integers(w.area_child_off[a], w.area_child_off[a + 1]))
            fam = w.child_family[kid]
            plan.family_kids[u] = np.nonzero(w.child_family == fam)[0]
            w.user_family_key[u] = w.family_keys[fam]
            w.user_family[u] = -1  # this one does look their family up (in inject)
        return plan

    # -- helpers ----------------------------------------------------------------------------------
    def _label(self, u: int, cat: str, ts: np.ndarray, org: int | None = None) -> None:
        if len(ts) == 0:
            return
        o = int(self.w.user_org[u]) if org is None else org
        self.truth.append(TruthRow(u, o, cat, int(ts.min()), int(ts.max())))

    def _session_days(self, u: int, k: int, days: np.ndarray | None = None) -> np.ndarray:
        """Up to k session rows of user u on distinct days of the scan window (one per day)."""
        s = self.sessions
        rows = s.of_user(u, self.scan_days if days is None else days)
        if len(rows) == 0:
            return rows
        uniq_days = self.rng.permutation(np.unique(s.day[rows]))[:k]
        return np.array([self.rng.choice(rows[s.day[rows] == d]) for d in np.sort(uniq_days)], dtype=np.int64)

    def _in_session(
        self, row: int, recs: np.ndarray, action: int | np.ndarray = V, cover: bool = False, **extra: Any
    ) -> np.ndarray:
        """Events of user in session `row` at random times within it; returns their timestamps."""
        s, w, rng = self.sessions, self.w, self.rng
        u = int(s.user[row])
        n = len(recs)
        lo, hi = int(s.start[row]), int(s.end[row])
        ts = np.sort(lo + 1 + (rng.random(n) * max(hi - lo - 2, 1)).astype(np.int64))
        self.buf.add(
            ts=ts,
            user=u,
            org=int(w.user_org[u]),
            rec=recs,
            action=action,
            ip=int(s.ip[row]),
            auth=int(s.auth[row]),
            session=int(s.sid[row]),
            **extra,
        )
        if cover and (w.params.adversarial or w.params.quiet):  # its own random stream: labels stay identical
            self._cover(row, ts)
        return ts

    def _cover(self, row: int, snoop_ts: np.ndarray) -> None:
        """Adversarial cover (Xu et al. 2023): caseload reads around each snooping read."""
        s, w, rng = self.sessions, self.w, self.cover_rng
        u = int(s.user[row])
        per = rng.integers(3, 7, len(snoop_ts))
        ts = np.repeat(snoop_ts, per) + rng.integers(-600, 600, int(per.sum()))
        ts = np.clip(ts, int(s.start[row]) + 1, int(s.end[row]) - 1)
        recs, _ = pick_records(w, np.full(len(ts), u), rng)
        self.buf.add(
            ts=ts,
            user=u,
            org=int(w.user_org[u]),
            rec=recs,
            action=V,
            ip=int(s.ip[row]),
            auth=int(s.auth[row]),
            session=int(s.sid[row]),
        )

    def _new_session(
        self,
        u: int,
        day: int,
        hour: float,
        minutes: float,
        recs: np.ndarray,
        ip: int,
        auth: int,
        action: int | np.ndarray = V,
    ) -> np.ndarray:
        """A whole new session (login, actions, logout) at a local hour of a day; returns all its times."""
        w, rng = self.w, self.rng
        start = int(self.clock.to_utc(np.array([self.clock.local(day, hour * HOUR)]))[0])
        end = start + int(minutes * 60)
        sid = int(self.ids.take(1)[0])
        org = int(w.user_org[u])
        ts = np.sort(start + 1 + (rng.random(len(recs)) * (end - start - 2)).astype(np.int64))
        self.buf.add(ts=np.array([start]), user=u, org=org, action=LOGIN, ip=ip, auth=auth, session=sid)
        self.buf.add(ts=ts, user=u, org=org, rec=recs, action=action, ip=ip, auth=auth, session=sid)
        self.buf.add(ts=np.array([end]), user=u, org=org, action=LOGOUT, ip=ip, auth=auth, session=sid)
        return np.concatenate([[start], ts, [end]])

    def _caseload(self, u: int, n: int) -> np.ndarray:
        return pick_records(self.w, np.full(n, u), self.rng)[0]

    def _unrelated(self, u: int, n: int, other_area: bool = False) -> np.ndarray:
        """n children with no involvement with u's org (own area, or one other area), never shielded."""
        w, rng = self.w, self.rng
        o = int(w.user_org[u])
        a = int(w.org_area[o])
        if other_area:
            others = [x for x in range(len(w.areas)) if x != a]
            a = int(rng.choice(others))
        pool = w.area_children(a)
        mine = w.inv_rec[w.inv_org == o]
        pool = pool[~np.isin(pool, mine) & ~w.child_shielded[pool]]
        return rng.choice(pool, size=min(n, len(pool)), replace=False).astype(np.int32)

    def _home_ip(self, u: int) -> int:
        return undeclared_ip_base(self.w) + (u * 7919 + 13) % UNDECLARED_POOL

    def _far_ip(self, u: int) -> int:
        return far_ip_base(self.w) + (u * 104729) % FAR_POOL

    # -- injection --------------------------------------------------------------------------------
    def inject(self, sessions: Sessions, ids: SessionIds, normal: dict[str, np.ndarray]) -> EventBuffer:
        """Add every planned scenario; rewrites `normal` in place where a scenario changes real traffic."""
        self.sessions, self.ids = sessions, ids
        w, rng, plan = self.w, self.rng, self.plan_
        users = plan.users

        quiet = w.params.quiet  # the stress cell: weaker misuse, nearer ordinary hours, with cover
        for u in users["after_hours"]:
            nights = rng.choice(
                self.scan_days[:-1], size=3, replace=False
            )  # the last night ends after the period
            for d in np.sort(nights):
                recs = self._caseload(u, int(rng.integers(5, 10) if quiet else rng.integers(8, 20)))
                ts = self._new_session(
                    u,
                    int(d),
                    rng.uniform(20.5, 22.5) if quiet else rng.uniform(22.0, 25.0),
                    rng.uniform(25, 70),
                    recs,
                    int(w.user_ip[u]),
                    int(session_auth(w, np.array([u]))[0]),
                )
                self._label(u, "after_hours", ts)

        for u in users["volume_spike"]:
            daily = max(200, int(10 * w.user_rate[u] * 4.5 * w.params.scale))
            if quiet:
                daily = max(90, daily // 2)
            for row in self._session_days(u, 2):
                self._label(u, "volume_spike", self._in_session(row, self._caseload(u, daily)))

        for u in users["bulk_access"]:
            for row in self._session_days(u, 1):
                o = int(w.user_org[u])
                pool = w.org_children(o)
                n = int(rng.integers(150, 250) if quiet else rng.integers(250, 500))
                if len(pool) < n:  # a small org's scraper runs on into the area (never past involvements)
                    area = w.area_children(int(w.org_area[o]))
                    pool = np.union1d(pool, area[~np.isin(area, w.inv_rec[w.inv_org == o])])
                recs = rng.choice(pool, size=min(n, len(pool)), replace=False)
                # a scripted burst: hundreds of distinct records in under an hour
                s = self.sessions
                t0 = int(s.start[row]) + 60
                ts = t0 + np.sort(rng.integers(0, int(rng.integers(1500, 2700)), len(recs)))
                self.buf.add(
                    ts=ts,
                    user=u,
                    org=o,
                    rec=recs,
                    action=V,
                    ip=int(s.ip[row]),
                    auth=int(s.auth[row]),
                    session=int(s.sid[row]),
                )
                self._label(u, "bulk_access", ts)

        for u in users["export_spike"]:
            for row in self._session_days(u, 2):
                n = int(rng.integers(20, 40) if quiet else rng.integers(40, 100))
                recs = self._caseload(u, n)
                action = np.where(rng.random(n) < 0.8, EXPORT, PRINT)
                self._label(u, "export_spike", self._in_session(row, recs, action))

        for u in users["out_of_area"]:
            recs_all = self._unrelated(u, 40, other_area=True)
            for i, row in enumerate(self._session_days(u, 4)):
                recs = recs_all[i * 10 : i * 10 + int(rng.integers(3, 6) if quiet else rng.integers(5, 10))]
                self._label(u, "out_of_area", self._in_session(row, recs, cover=True))

        for u in users["no_relationship"]:
            recs_all = self._unrelated(u, 60)
            for i, row in enumerate(self._session_days(u, 5)):
                recs = recs_all[i * 12 : i * 12 + int(rng.integers(3, 7) if quiet else rng.integers(6, 12))]
                self._label(u, "no_relationship", self._in_session(row, recs, cover=True))

        for u in users["shielded_access"]:
            o = int(w.user_org[u])
            a = int(w.org_area[o])
            served = w.inv_rec[w.inv_org == o]
            pool = w.area_children(a)
            pool = pool[w.child_shielded[pool] & ~np.isin(pool, served)]
            if len(pool) == 0:  # an org that serves every child of its area (a sole GP practice)
                pool = np.nonzero(w.child_shielded)[0]
                pool = pool[~np.isin(pool, served)]
            if len(pool) == 0:  # a tiny world whose few shielded children are all served by this org
                continue
            rows = self._session_days(u, int(rng.integers(2, 4)))
            for row in rows:
                shielded_kid = np.array([rng.choice(pool)], dtype=np.int32)
                # refused first, then the override: break-glass with an emergency reason
                t1 = np.zeros(0, np.int64) if quiet else self._in_session(row, shielded_kid, outcome=DENIED)
                t2 = self._in_session(row, shielded_kid, cover=True, bg=1, purpose=P_EMERGENCY)
                self._label(u, "shielded_access", np.concatenate([t1, t2]))

        for u in users["leaver_account"]:
            end = plan.leaver_end[u]
            days_after = self.scan_workdays[
                np.array([np.datetime64(self.clock.day_date(int(d)), "D") > end for d in self.scan_workdays])
            ]
            for d in np.sort(rng.choice(days_after, size=min(3, len(days_after)), replace=False)):
                ip = self._home_ip(u) if rng.random() < 0.6 else int(w.user_ip[u])
                ts = self._new_session(
                    u,
                    int(d),
                    rng.uniform(9, 17),
                    rng.uniform(20, 60),
                    self._caseload(u, int(rng.integers(8, 25))),
                    ip,
                    int(session_auth(w, np.array([u]))[0]),
                )
                self._label(u, "leaver_account", ts)

        for u in users["dormant_account"]:
            # someone else using a forgotten account: a few of the organisation's children for
            # cover, mostly children of the area nobody there works with
            unrelated = self._unrelated(u, 60)
            days = rng.choice(self.scan_workdays, size=min(3, len(self.scan_workdays)), replace=False)
            for i, d in enumerate(np.sort(days)):
                n = int(rng.integers(6, 12) if quiet else rng.integers(15, 40))
                k = int(round(n * 0.6))
                recs = np.concatenate([unrelated[i * 20 : i * 20 + k], self._caseload(u, n - k)]).astype(np.int32)
                ts = self._new_session(
                    u,
                    int(d),
                    rng.uniform(9, 16),
                    rng.uniform(30, 90),
                    recs,
                    int(w.user_ip[u]),
                    int(session_auth(w, np.array([u]))[0]),
                )
                self._label(u, "dormant_account", ts)

        for u in users["concurrent_sessions"]:
            for row in self._session_days(u, 4):
                s = self.sessions
                span = int(s.end[row] - s.start[row])
                start_h = int(s.start[row]) + int(rng.integers(60, max(span // 2, 120)))
                # the same account used at once from a far-away network: a shared password
                sid = int(ids.take(1)[0])
                o = int(w.user_org[u])
                ip = self._far_ip(u)
                n = int(rng.integers(10, 25))
                s_end = start_h + int(rng.uniform(30, 90) * 60)
                ts = np.sort(start_h + 1 + rng.integers(0, s_end - start_h - 2, n))
                self.buf.add(
                    ts=np.array([start_h]), user=u, org=o, action=LOGIN, ip=ip, auth=A_PASSWORD, session=sid
                )
                self.buf.add(
                    ts=ts,
                    user=u,
                    org=o,
                    rec=self._caseload(u, n),
                    action=V,
                    ip=ip,
                    auth=A_PASSWORD,
                    session=sid,
                )
                self.buf.add(
                    ts=np.array([s_end]), user=u, org=o, action=LOGOUT, ip=ip, auth=A_PASSWORD, session=sid
                )
                # meanwhile the real user goes on working in their own session, so the overlap shows
                # in the log even when that session would otherwise have logged little
                hi = max(min(s_end, int(s.end[row])) - 1, start_h + 2)
                own = np.sort(rng.integers(start_h + 1, hi, 3))
                self.buf.add(
                    ts=own,
                    user=u,
                    org=o,
                    rec=self._caseload(u, 3),
                    action=V,
                    ip=int(s.ip[row]),
                    auth=int(s.auth[row]),
                    session=int(s.sid[row]),
                )
                self._label(u, "concurrent_sessions", np.array([start_h, s_end]))

        for u in users["family_lookup"]:
            kids = plan.family_kids[u]
            for row in self._session_days(u, 3):
                recs = rng.choice(kids, size=int(rng.integers(1, min(3, len(kids)) + 1)), replace=False)
                self._label(u, "family_lookup", self._in_session(row, recs.astype(np.int32), cover=True))

        news_day = int(self.scan_d0 + rng.integers(1, max(2, SCAN_DAYS // 2)))
        for kid in plan.vip_kids:
            window = np.arange(news_day, min(news_day + 3, w.params.days))
            for u in plan.vip_users[kid]:
                rows = self._session_days(u, 1, window)
                if len(rows) == 0:
                    rows = self._session_days(u, 1)
                for row in rows:
                    recs = np.full(int(rng.integers(1, 3)), kid, dtype=np.int32)
                    self._label(u, "vip_snooping", self._in_session(row, recs, cover=True))

        for u in users["failed_login_burst"]:
            d = int(rng.choice(self.scan_days))
            t0 = self.clock.utc_of_day(d, rng.uniform(0, 23))
            n = int(rng.integers(20, 50))
            ts = np.sort(t0 + rng.integers(0, int(rng.integers(180, 600)), n))
            o = int(w.user_org[u])
            ip = self._far_ip(u)
            self.buf.add(ts=ts, user=u, org=o, action=LOGIN, outcome=FAILURE, ip=ip, auth=A_PASSWORD)
            self._label(u, "failed_login_burst", ts)

        for u in users["denied_spike"]:
            recs_all = self._unrelated(u, 80)
            for i, row in enumerate(self._session_days(u, 2)):
                recs = recs_all[i * 40 : i * 40 + int(rng.integers(10, 20) if quiet else rng.integers(15, 35))]
                self._label(u, "denied_spike", self._in_session(row, recs, outcome=DENIED))

        for u in users["search_fishing"]:
            for row in self._session_days(u, 3):
                n = int(rng.integers(30, 50) if quiet else rng.integers(40, 90))
                nret = rng.integers(0, 4, n)
                ts = self._in_session(row, np.full(n, -1, dtype=np.int32), SEARCH, nret=nret)
                ts2 = self._in_session(row, self._caseload(u, int(rng.integers(0, 3))))
                self._label(u, "search_fishing", np.concatenate([ts, ts2]))

        for u in users["lingering_access"]:
            o = int(w.user_org[u])
            ended = w.inv_rec[
                (w.inv_org == o)
                & ~np.isnat(w.inv_end)
                & (w.inv_end < np.datetime64(w.params.start_date, "D") - np.timedelta64(20, "D"))
            ]
            ended = ended[~w.child_shielded[ended]]
            if len(ended) == 0:
                continue
            kids = rng.choice(ended, size=min(len(ended), int(rng.integers(4, 10))), replace=False)
            for row in self._session_days(u, 4):
                recs = rng.choice(kids, size=int(rng.integers(1, 3) if quiet else rng.integers(2, 5)))
                self._label(u, "lingering_access", self._in_session(row, recs.astype(np.int32), cover=True))

        # weak_auth: an MFA user whose sessions in the scan window are password-only
        for u in users["weak_auth"]:
            m = (normal["user"] == u) & (normal["ts"] >= self.scan_utc) & (normal["auth"] >= 0)
            normal["auth"][m] = A_PASSWORD
            self._label(u, "weak_auth", normal["ts"][m])

        # peer_outlier: same volume and hours, but the children come from other teams' caseloads
        for u in users["peer_outlier"]:
            o = int(w.user_org[u])
            own_team = int(w.user_team[u])
            teams = np.nonzero(w.team_org == o)[0]
            others = np.concatenate(
                [w.team_pool[w.team_pool_off[t] : w.team_pool_off[t + 1]] for t in teams if t != own_team]
            )
            m = (normal["user"] == u) & (normal["ts"] >= self.scan_utc) & (normal["rec"] >= 0)
            if quiet:  # only part of their work moves to other teams' children
                m &= rng.random(len(m)) < 0.6
            normal["rec"][m] = rng.choice(others, size=int(m.sum()))
            self._label(u, "peer_outlier", normal["ts"][m])

        # log_gap: a source that sends every day falls silent for several days (events removed in finish)
        self.gaps: list[tuple[int, int, int]] = []
        for o in plan.gap_orgs:
            length = int(rng.integers(3, 6))
            d0 = int(self.scan_d0 + rng.integers(2, max(3, SCAN_DAYS - length - 2)))
            lo = self.clock.utc_of_day(d0)
            hi = self.clock.utc_of_day(d0 + length) - 1
            self.gaps.append((o, lo, hi))
            self.truth.append(TruthRow(-1, o, "log_gap", lo, hi))
        return self.buf

    def drop_gaps(self, events: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Remove every event of a silent organisation during its gap."""
        if not self.gaps:
            return events
        orgs = np.array([g[0] for g in self.gaps])
        cand = np.nonzero(np.isin(events["org"], orgs))[0]  # only the silent orgs' events are tested
        drop = np.zeros(len(cand), dtype=bool)
        for o, lo, hi in self.gaps:
            drop |= (events["org"][cand] == o) & (events["ts"][cand] >= lo) & (events["ts"][cand] <= hi)
        keep = np.ones(len(events["ts"]), dtype=bool)
        keep[cand[drop]] = False
        return {k: v[keep] for k, v in events.items()}


__all__ = ["Scenarios", "TruthRow", "Plan", "COVERABLE"]
