"""Legitimate but odd work, labelled in `truth_legit.csv` so an evaluation can count false alarms on it.

Always labelled: the duty (out-of-hours) team, MASH staff, national-partner analysts and the admins
who make statutory returns. With the stress knob `bursts`: inspections (a manager reads a large part
of the organisation's caseload over two or three days), a census return (every school's admin
exports all pupils on one day, never before in the history) and duty rotas (caseworkers take a week
of new referrals: children of their area with no involvement yet, searched for, opened and worked
on; some become cases that week). With `popular`: children read by many involved staff within a few
days (a strategy meeting, a serious incident). Everything here happens in the scan window, from a
random stream of its own, so the rest of the world is the one the same seed gives without the knobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from audit_kit.synth.clock import Clock
from audit_kit.synth.params import SCAN_DAYS
from audit_kit.synth.population import (
    GP,
    LA,
    NATIONAL,
    NHS,
    POLICE,
    R_ADMIN,
    R_ANALYST,
    R_CASEWORKER,
    R_DUTY,
    R_MANAGER,
    R_MASH,
    SCHOOL,
    TEAM_ROLES,
    World,
)
from audit_kit.synth.traffic import (
    EXPORT,
    LOGIN,
    LOGOUT,
    P_INSPECTION,
    P_REFERRAL,
    P_STATUTORY,
    SEARCH,
    UPDATE,
    EventBuffer,
    SessionIds,
    Sessions,
    V,
    _statutory_admins,
    session_auth,
)

LEGIT_COLUMNS = ("user_id", "org_id", "kind", "first_seen", "last_seen")


@dataclass
class LegitRow:
    user: int
    org: int
    kind: str
    first: int | None = None
    last: int | None = None


@dataclass
class LegitWork:
    """Plans and injects the legitimate bursts; `rows` labels every legitimate-but-odd user."""

    world: World
    clock: Clock
    used: set[int]
    rows: list[LegitRow] = field(default_factory=list)
    buf: EventBuffer = field(default_factory=EventBuffer)

    def __post_init__(self) -> None:
        p = self.world.params
        self.rng = np.random.default_rng([p.seed, 16_004])
        self.scan_d0 = p.days - SCAN_DAYS
        wd = self.clock.weekdays()
        days = np.arange(self.scan_d0, p.days)
        self.workdays = days[wd[days] < 5]
        self._busy: set[int] = set(self.used)

    # -- the always-present odd work ---------------------------------------------------------------
    def label_standing(self) -> None:
        """Duty, MASH, national analysts and statutory-return admins: odd by design, legitimate."""
        w = self.world
        kinds = {R_DUTY: "night_duty", R_MASH: "mash", R_ANALYST: "national_analyst"}
        for u in range(w.n_users):
            kind = kinds.get(int(w.user_role[u]))
            if kind is None and w.org_type[w.user_org[u]] == NATIONAL:
                kind = "national_partner"
            if kind and u not in self.used:
                self.rows.append(LegitRow(u, int(w.user_org[u]), kind))
        for o, u in _statutory_admins(w):
            if u not in self.used:
                self.rows.append(LegitRow(u, o, "statutory_exporter"))

    # -- helpers -------------------------------------------------------------------------------------
    def _free(self, mask: np.ndarray, k: int) -> list[int]:
        w = self.world
        ok = mask & ~w.user_idle & np.isnat(w.user_end) & (w.user_start < np.datetime64(w.params.start_date, "D"))
        cand = [int(u) for u in np.nonzero(ok)[0] if int(u) not in self._busy]
        if not cand:
            return []
        pick = [int(u) for u in self.rng.choice(cand, size=min(k, len(cand)), replace=False)]
        self._busy.update(pick)
        return pick

    def _session(self, u: int, day: int, hour: float, minutes: float) -> tuple[int, int, int, int, int]:
        """(start, end, ip, auth, sid) of a new office-hours session of user u."""
        w = self.world
        start = self.clock.utc_of_day(day, hour)
        end = start + int(minutes * 60)
        return start, end, int(w.user_ip[u]), int(session_auth(w, np.array([u]))[0]), int(self.ids.take(1)[0])

    def _emit(self, u: int, sess: tuple[int, int, int, int, int], recs: np.ndarray, action: int | np.ndarray,
              purpose: int = -1, login: bool = True) -> np.ndarray:
        w = self.world
        start, end, ip, auth, sid = sess
        o = int(w.user_org[u])
        ts = np.sort(start + 1 + (self.rng.random(len(recs)) * max(end - start - 2, 1)).astype(np.int64))
        if login:
            self.buf.add(ts=np.array([start]), user=u, org=o, action=LOGIN, ip=ip, auth=auth, session=sid)
            self.buf.add(ts=np.array([end]), user=u, org=o, action=LOGOUT, ip=ip, auth=auth, session=sid)
        self.buf.add(ts=ts, user=u, org=o, rec=recs, action=action, ip=ip, auth=auth, session=sid, purpose=purpose)
        return ts

    def _label(self, u: int, kind: str, ts: np.ndarray) -> None:
        if len(ts):
            self.rows.append(LegitRow(u, int(self.world.user_org[u]), kind, int(ts.min()), int(ts.max())))

    def _add_involvements(self, kids: np.ndarray, org: int, day: int) -> None:
        """New involvements of `org` with `kids` starting on period day `day` (recorded in the file)."""
        w = self.world
        d = np.datetime64(self.clock.day_date(day), "D")
        n = len(kids)
        w.inv_rec = np.concatenate([w.inv_rec, kids.astype(np.int32)])
        w.inv_org = np.concatenate([w.inv_org, np.full(n, org, dtype=np.int32)])
        w.inv_start = np.concatenate([w.inv_start, np.full(n, d)])
        w.inv_end = np.concatenate([w.inv_end, np.full(n, np.datetime64("NaT", "D"))])
        recorded = self.rng.random(n) >= w.params.missing_involvements
        w.inv_recorded = np.concatenate([w.inv_recorded, recorded])

    # -- bursts ----------------------------------------------------------------------------------------
    def inject(self, sessions: Sessions, ids: SessionIds) -> EventBuffer:
        """Add the bursts and popular records the knobs ask for."""
        self.sessions, self.ids = sessions, ids
        p = self.world.params
        if p.bursts and len(self.workdays) >= 5:
            self._inspections()
            self._census()
            self._duty_rota()
        if p.popular:
            self._popular(p.popular)
        return self.buf

    def _inspections(self) -> None:
        w, rng = self.world, self.rng
        mask = (w.user_role == R_MANAGER) & np.isin(w.org_type[w.user_org], (LA, NHS))
        for u in self._free(mask, 2):
            o = int(w.user_org[u])
            pool = w.org_children(o)
            if len(pool) == 0:
                continue
            d0 = int(rng.integers(0, len(self.workdays) - 3))
            stamps = []
            for d in self.workdays[d0 : d0 + int(rng.integers(2, 4))]:
                recs = rng.choice(pool, size=min(len(pool), int(rng.integers(80, 160))), replace=False)
                sess = self._session(u, int(d), rng.uniform(9.0, 10.0), rng.uniform(300, 400))
                stamps.append(self._emit(u, sess, recs.astype(np.int32), V, P_INSPECTION))
            self._label(u, "inspection", np.concatenate(stamps) if stamps else np.zeros(0, np.int64))

    def _census(self) -> None:
        w, rng = self.world, self.rng
        day = int(rng.choice(self.workdays[:-1]))
        for o in np.nonzero(w.org_type == SCHOOL)[0]:
            admins = [u for u in np.nonzero((w.user_org == o) & (w.user_role == R_ADMIN))[0]
                      if int(u) not in self._busy and not w.user_idle[u]]
            pupils = w.org_children(int(o))
            if not admins or len(pupils) == 0:
                continue
            u = int(admins[0])
            self._busy.add(u)
            sess = self._session(u, day, rng.uniform(10.0, 11.5), rng.uniform(40, 90))
            self._label(u, "census_return", self._emit(u, sess, pupils.astype(np.int32), EXPORT, P_STATUTORY))

    def _duty_rota(self) -> None:
        w, rng = self.world, self.rng
        mask = (w.user_role == R_CASEWORKER) & (w.org_type[w.user_org] == LA)
        for u in self._free(mask, 2):
            o = int(w.user_org[u])
            a = int(w.org_area[o])
            area = w.area_children(a)
            served = np.unique(w.inv_rec[w.inv_org == o])
            fresh = area[~np.isin(area, served) & ~w.child_shielded[area]]
            if len(fresh) < 200:
                continue
            d0 = int(rng.integers(0, max(1, len(self.workdays) - 5)))
            stamps = []
            for d in self.workdays[d0 : d0 + 5]:
                kids = rng.choice(fresh, size=int(rng.integers(12, 26)), replace=False).astype(np.int32)
                sess = self._session(u, int(d), rng.uniform(8.5, 9.5), rng.uniform(420, 480))
                # each referral: a search, the record opened, often a note written
                n = len(kids)
                stamps.append(self._emit(u, sess, np.full(n, -1, np.int32), SEARCH, P_REFERRAL))
                stamps.append(self._emit(u, sess, kids, V, P_REFERRAL, login=False))
                worked = kids[rng.random(n) < 0.5]
                stamps.append(self._emit(u, sess, worked, UPDATE, P_REFERRAL, login=False))
                # some referrals become cases that week
                self._add_involvements(kids[rng.random(n) < 0.4], o, int(d))
            self._label(u, "duty_rota", np.concatenate(stamps))

    def _popular(self, k: int) -> None:
        w, rng = self.world, self.rng
        kids = rng.choice(np.nonzero(~w.child_shielded)[0], size=k, replace=False)
        for kid in kids:
            a = int(w.child_area[kid])
            orgs = [int(o) for o in np.nonzero((w.org_area == a) & np.isin(w.org_type, (LA, NHS, POLICE, GP)))[0]]
            if not orgs:
                continue
            have = set(w.inv_org[w.inv_rec == kid].tolist())
            start_day = max(0, self.scan_d0 - 60)
            for o in orgs:
                if o not in have:
                    self._add_involvements(np.array([kid]), o, start_day)
            readers = self._free(np.isin(w.user_org, orgs) & np.isin(w.user_role, (*TEAM_ROLES, R_MANAGER)),
                                 int(rng.integers(8, 17)))
            d0 = int(rng.choice(self.workdays[:-3]))
            for u in readers:
                day = d0 + int(rng.integers(0, 3))
                sess = self._session(u, day, rng.uniform(9.0, 16.0), rng.uniform(20, 60))
                recs = np.full(int(rng.integers(1, 4)), kid, dtype=np.int32)
                self._label(u, "popular_record_reader", self._emit(u, sess, recs, V))


def legit_rows(world: World, rows: list[LegitRow]) -> list[tuple[str, str, str, str, str]]:
    """truth_legit.csv rows: one per (user, kind); times empty for standing roles."""
    from audit_kit.synth.clock import iso_utc

    merged: dict[tuple[int, str], LegitRow] = {}
    for r in rows:
        key = (r.user, r.kind)
        if key in merged and r.first is not None:
            m = merged[key]
            m.first = r.first if m.first is None else min(m.first, r.first)
            m.last = r.last if m.last is None else max(m.last or 0, r.last or 0)
        elif key not in merged:
            merged[key] = LegitRow(r.user, r.org, r.kind, r.first, r.last)
    out = [(world.user_ids[r.user], world.org_ids[r.org], r.kind,
            "" if r.first is None else iso_utc(r.first), "" if r.last is None else iso_utc(r.last))
           for r in merged.values()]
    return sorted(out, key=lambda x: (x[2], x[0]))


__all__ = ["LEGIT_COLUMNS", "LegitWork", "legit_rows"]
