"""The people and bodies of a synthetic world: organisations, staff, children, involvements, practice.

Everything is held as numpy arrays indexed by position (org i, user j, child k); identifiers are only
formatted when files are written. Generation is vectorised so a 500,000-child world takes seconds.

(Why this module runs past 400 lines: organisations, staff, children, families and involvements, drawn
together because each depends on the others (caseloads follow areas, families span staff and children).)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from audit_kit.schema import ORG_TYPES
from audit_kit.synth.params import SynthParams

LA, GP, SCHOOL, NHS, POLICE, NATIONAL = range(6)
TYPE_PREFIX = ("LA", "GP", "SCH", "NHS", "POL", "NAT")
TYPE_NAME = ("Council", "Medical Practice", "School", "NHS Trust", "Police", "National Partner")
WORKING_HOURS = ("07:00-19:00", "08:00-18:30", "07:30-17:30", "07:00-19:00", "07:00-19:00", "08:00-18:00")
# Involvement role written to involvements.csv, per organisation type (national partners have none:
# they read across the country by remit, not by caseload).
INVOLVEMENT_ROLE = ("social_care", "registered_gp", "school", "health", "police", "")

ROLES = (
    "caseworker",  # 0 local authority social worker
    "manager",  # 1 team or service manager: reads across the organisation's teams
    "admin",  # 2 records / data officer: statutory returns
    "duty",  # 3 duty / out-of-hours team: nights and weekends, referrals from anywhere in the area
    "mash",  # 4 multi-agency safeguarding hub: reads across the area and beyond
    "clinician",  # 5 nurse, health visitor, paediatrician
    "gp",  # 6 general practitioner
    "teacher",  # 7 teacher / designated safeguarding lead
    "officer",  # 8 police officer (public protection)
    "analyst",  # 9 national partner analyst: reads across every area
    "service",  # 10 service account: nightly data sync with an API key
)
(
    R_CASEWORKER,
    R_MANAGER,
    R_ADMIN,
    R_DUTY,
    R_MASH,
    R_CLINICIAN,
    R_GP,
    R_TEACHER,
    R_OFFICER,
    R_ANALYST,
    R_SERVICE,
) = range(len(ROLES))
# Roles whose people work a caseload shared with a team: the communities peer detectors learn.
TEAM_ROLES = (R_CASEWORKER, R_CLINICIAN, R_GP, R_TEACHER, R_OFFICER)

# Staff per organisation type at factor 1: (role, count).
STAFFING: dict[int, tuple[tuple[int, int], ...]] = {
    LA: ((R_CASEWORKER, 22), (R_MANAGER, 4), (R_ADMIN, 2), (R_DUTY, 5), (R_MASH, 4), (R_SERVICE, 1)),
    GP: ((R_GP, 5), (R_CLINICIAN, 3), (R_ADMIN, 2)),
    SCHOOL: ((R_TEACHER, 8), (R_MANAGER, 1), (R_ADMIN, 1)),
    NHS: ((R_CLINICIAN, 24), (R_MANAGER, 2), (R_ADMIN, 2), (R_DUTY, 5), (R_MASH, 2), (R_SERVICE, 1)),
    POLICE: ((R_OFFICER, 16), (R_MASH, 3), (R_DUTY, 4), (R_ADMIN, 1)),
    NATIONAL: ((R_ANALYST, 14), (R_ADMIN, 2)),
}
# Typical record actions per hour of session, by role (a per-user log-normal factor varies it).
HOURLY_RATE = np.array([7.0, 3.0, 3.0, 5.0, 9.0, 6.0, 5.0, 1.6, 2.5, 7.0, 0.0])

TOWNS = (
    "Ashford",
    "Bramley",
    "Calder",
    "Dunmore",
    "Elmstead",
    "Fairhaven",
    "Glenbrook",
    "Harwell",
    "Ivybridge",
    "Kingsmere",
    "Larkhill",
    "Marlow",
    "Northcote",
    "Oakridge",
    "Pendle",
    "Queensbury",
    "Redmoor",
    "Stanton",
    "Thornbury",
    "Upton",
    "Valemouth",
    "Westbury",
    "Yarrow",
    "Ashcombe",
    "Birchfield",
    "Coldwater",
    "Dovecot",
    "Eastleigh",
    "Foxley",
    "Greyfriars",
)

IPS_PER_ORG = 32  # host addresses used per organisation network; host 0 is the sync server
UNDECLARED_POOL = 254  # 203.0.113.0/24: home broadband, hotspots (documentation range, never real)
FAR_POOL = 254  # 198.51.100.0/24: far-away networks used by shared/compromised accounts

NAT = np.datetime64("NaT", "D")


@dataclass
class Practice:
    """Each organisation's hidden security practice (truth_orgs.csv); the traffic is generated from it."""

    weak_mfa: np.ndarray
    weak_leavers: np.ndarray
    weak_dormant: np.ndarray
    shared_accounts: np.ndarray
    weak_explained: np.ndarray
    overrides: np.ndarray  # shielded records opened with break-glass without a relationship
    uncontrolled_exports: np.ndarray
    weak_network: np.ndarray
    log_gap: np.ndarray
    mfa_target: np.ndarray
    noise_share: np.ndarray  # share of views with no relationship (background, unlabelled)
    undeclared_share: np.ndarray


@dataclass
class World:
    """The synthetic population. Arrays are indexed by org / user / child / involvement position."""

    params: SynthParams
    rng: np.random.Generator
    areas: list[str]
    # organisations
    org_type: np.ndarray
    org_area: np.ndarray  # -1 for national partners
    org_ids: list[str]
    org_names: list[str]
    practice: Practice
    # children (sorted by home area)
    child_area: np.ndarray
    child_shielded: np.ndarray
    child_family: np.ndarray
    child_birth_year: np.ndarray
    family_keys: np.ndarray  # per household index
    area_child_off: np.ndarray  # children of area a are [off[a], off[a+1])
    # involvements
    inv_rec: np.ndarray
    inv_org: np.ndarray
    inv_start: np.ndarray
    inv_end: np.ndarray
    # caseload pools: flat arrays of child indexes with offsets
    org_pool: np.ndarray
    org_pool_off: np.ndarray
    team_org: np.ndarray
    team_pool: np.ndarray
    team_pool_off: np.ndarray
    # users
    user_org: np.ndarray
    user_role: np.ndarray
    user_start: np.ndarray
    user_end: np.ndarray
    user_family_key: np.ndarray
    user_mfa: np.ndarray
    user_vetted: np.ndarray
    user_trained: np.ndarray
    user_team: np.ndarray
    user_rate: np.ndarray
    user_idle: np.ndarray
    user_ip: np.ndarray
    user_strong_auth: np.ndarray  # 0 mfa, 1 smartcard (when enrolled)
    user_rot: np.ndarray
    user_start_hour: np.ndarray
    user_family: np.ndarray  # household index of staff whose children are in the database, else -1
    ip_strings: list[str]
    declared_networks: list[str]
    user_ids: list[str] = field(default_factory=list)
    # involvements written to involvements.csv (the stress knob `missing_involvements` leaves some out)
    inv_recorded: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    ended_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # child*n_orgs+org

    def __post_init__(self) -> None:
        if len(self.inv_recorded) != len(self.inv_rec):
            missing = self.params.missing_involvements
            # its own stream: the world is otherwise the one the same seed gives without the knob
            r = np.random.default_rng([self.params.seed, 16_001]).random(len(self.inv_rec))
            self.inv_recorded = r >= missing
        ended = ~np.isnat(self.inv_end)
        self.ended_keys = np.sort(
            self.inv_rec[ended].astype(np.int64) * len(self.org_type) + self.inv_org[ended]
        )

    @property
    def n_orgs(self) -> int:
        return len(self.org_type)

    @property
    def n_users(self) -> int:
        return len(self.user_org)

    @property
    def n_children(self) -> int:
        return len(self.child_area)

    def org_children(self, o: int) -> np.ndarray:
        return self.org_pool[self.org_pool_off[o] : self.org_pool_off[o + 1]]

    def area_children(self, a: int) -> np.ndarray:
        return np.arange(self.area_child_off[a], self.area_child_off[a + 1])

    def involved_keys(self, active_on: date | None = None) -> np.ndarray:
        """Sorted keys (child * n_orgs + org) of involvements, optionally only those active on a date."""
        keep = np.ones(len(self.inv_rec), dtype=bool)
        if active_on is not None:
            d = np.datetime64(active_on, "D")
            keep = (self.inv_start <= d) & (np.isnat(self.inv_end) | (self.inv_end >= d))
        keys = self.inv_rec[keep].astype(np.int64) * self.n_orgs + self.inv_org[keep]
        return np.unique(keys)


def _choose_weak(rng: np.random.Generator, eligible: np.ndarray, share: float) -> np.ndarray:
    """A weak/strong split over eligible orgs with at least one of each (when there are two)."""
    n = len(eligible)
    weak = np.zeros(n, dtype=bool)
    idx = np.nonzero(eligible)[0]
    if len(idx) == 0:
        return weak
    pick = rng.random(len(idx)) < share
    if len(idx) >= 2:
        order = rng.permutation(len(idx))
        pick[order[0]] = True
        pick[order[1]] = False
    weak[idx[pick]] = True
    return weak


# The order in which each area gets its organisations, per organisation mix (then practices and
# schools alternate): `small_orgs` has about three times as many practices and schools (and small
# ones, see SMALL_ORG_STAFF); `health` more trusts and practices.
ORG_SEQUENCES: dict[str, tuple[int, ...]] = {
    "default": (LA, GP, SCHOOL, NHS, POLICE),
    "small_orgs": (LA, GP, SCHOOL, NHS, GP, SCHOOL, POLICE, GP, SCHOOL),
    "health": (LA, GP, NHS, GP, NHS, POLICE, SCHOOL),
}
SMALL_ORG_STAFF = 0.45  # staffing factor of practices and schools in the small_orgs mix (2-5 users)


def _org_layout(n: int, mix: str = "default") -> tuple[np.ndarray, np.ndarray, int]:
    """Organisation types and areas: each area gets a council, then practices, schools, a trust, police."""
    n_nat = max(1, round(n * 0.05))
    n_local = n - n_nat
    sequence = ORG_SEQUENCES[mix]
    n_areas = max(2, round(n / (6 if mix == "default" else len(sequence) + 1)))
    types = np.empty(n, dtype=np.int8)
    areas = np.empty(n, dtype=np.int32)
    for k in range(n_local):
        rnd = k // n_areas
        types[k] = sequence[rnd] if rnd < len(sequence) else (GP, SCHOOL)[rnd % 2]
        areas[k] = k % n_areas
    types[n_local:] = NATIONAL
    areas[n_local:] = -1
    return types, areas, n_areas


def _days_before(d: date, rng: np.random.Generator, lo: int, hi: int, size: int) -> np.ndarray:
    base = np.datetime64(d, "D")
    return base - rng.integers(lo, hi, size=size).astype("timedelta64[D]")


def build_world(params: SynthParams) -> World:
    """Draw the population of a world: organisations, practice, children, involvements, teams, staff."""
    rng = np.random.default_rng(params.seed)
    start = params.start_date

    # -- organisations and their practice ------------------------------------------------------
    org_type, org_area, n_areas = _org_layout(params.orgs, params.org_mix)
    n_orgs = params.orgs
    areas = [
        f"{TOWNS[a % len(TOWNS)]}{'' if a < len(TOWNS) else f' {a // len(TOWNS) + 1}'}"
        for a in range(n_areas)
    ]
    counters = [0] * len(ORG_TYPES)
    org_ids, org_names = [], []
    for o in range(n_orgs):
        t = int(org_type[o])
        counters[t] += 1
        org_ids.append(f"{TYPE_PREFIX[t]}{counters[t]:02d}")
        place = areas[org_area[o]] if org_area[o] >= 0 else "National"
        if t in (GP, SCHOOL):
            same = sum(1 for p in range(o) if org_type[p] == t and org_area[p] == org_area[o])
            place = (
                f"{place} {('North', 'South', 'East', 'West', 'Central', 'Park', 'Hill', 'Vale')[same % 8]}"
            )
        org_names.append(f"{place} {TYPE_NAME[t]}" if t != NATIONAL else f"National Partner {counters[t]}")

    local = org_type != NATIONAL
    # log gaps first (in orgs that send every day, night syncs included): those orgs carry no other
    # injected scenario, as their events go missing
    gap = np.zeros(n_orgs, dtype=bool)
    gap_n = max(1, round(n_orgs * 0.06))
    gap[rng.permutation(np.nonzero(np.isin(org_type, (LA, NHS)))[0])[:gap_n]] = True
    scenario_ok = local & ~gap
    practice = Practice(
        weak_mfa=_choose_weak(rng, scenario_ok, 0.35),  # gap orgs use MFA; a good one must carry weak_auth
        weak_leavers=_choose_weak(rng, scenario_ok, 0.35),
        weak_dormant=_choose_weak(rng, scenario_ok, 0.35),
        shared_accounts=_choose_weak(rng, scenario_ok, 0.25),
        weak_explained=_choose_weak(rng, local, 0.3),
        overrides=_choose_weak(rng, scenario_ok, 0.3),
        uncontrolled_exports=_choose_weak(rng, scenario_ok, 0.35),
        weak_network=_choose_weak(rng, local, 0.3),
        log_gap=gap,
        mfa_target=np.zeros(n_orgs),
        noise_share=np.zeros(n_orgs),
        undeclared_share=np.zeros(n_orgs),
    )
    practice.mfa_target = np.where(practice.weak_mfa, rng.uniform(0.25, 0.65, n_orgs), 1.0)
    practice.noise_share = np.where(
        practice.weak_explained, rng.uniform(0.12, 0.25, n_orgs), rng.uniform(0.003, 0.015, n_orgs)
    )
    practice.undeclared_share = np.where(practice.weak_network, rng.uniform(0.06, 0.2, n_orgs), 0.0)

    # -- children, sorted by home area; households of 1-4 siblings share a family_key ---------------
    weights = rng.uniform(0.7, 1.3, n_areas)
    counts = rng.multinomial(params.children, weights / weights.sum())
    child_area = np.repeat(np.arange(n_areas, dtype=np.int32), counts)
    area_child_off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n_children = params.children
    sizes = rng.choice(np.array([1, 2, 3, 4]), size=n_children, p=[0.45, 0.33, 0.15, 0.07])
    bounds = np.cumsum(sizes)
    n_households = int(np.searchsorted(bounds, n_children, side="left")) + 1
    child_family = np.searchsorted(bounds, np.arange(n_children), side="right").astype(np.int32)
    family_keys = np.char.mod("fk-%012x", rng.integers(0, 2**48, size=n_households + 1))
    child_shielded = rng.random(n_children) < 0.01
    child_birth_year = (params.end_date.year - rng.integers(0, 18, size=n_children)).astype(np.int32)
    age = params.end_date.year - child_birth_year

    # -- involvements: which bodies serve which child --------------------------------------------
    inv_rec_l, inv_org_l, inv_start_l, inv_end_l = [], [], [], []
    for t, share in ((GP, 1.0), (SCHOOL, None), (LA, 0.15), (NHS, 0.25), (POLICE, 0.04)):
        if t == SCHOOL:
            mask = (age >= 4) & (age <= 17)
        else:
            mask = rng.random(n_children) < float(share or 0.0)
        kids = np.nonzero(mask)[0]
        orgs_t = np.nonzero(org_type == t)[0]
        if len(kids) == 0 or len(orgs_t) == 0:
            continue
        # each child is served by an org of this type in its own area (or, if the area has none,
        # by one of the type elsewhere, as a police force covers several council areas)
        flat, off = [], [0]
        for a in range(n_areas):
            here = orgs_t[org_area[orgs_t] == a]
            if len(here) == 0:
                here = orgs_t[[a % len(orgs_t)]]
            flat.extend(here.tolist())
            off.append(len(flat))
        flat_a = np.array(flat)
        off_a = np.array(off)
        ka = child_area[kids]
        n_here = off_a[ka + 1] - off_a[ka]
        pick = flat_a[off_a[ka] + (rng.random(len(kids)) * n_here).astype(np.int64)]
        n = len(kids)
        if t == GP:
            started = _days_before(start, rng, 30, 3000, n)
            ended = np.full(n, NAT)
        else:
            ends = (rng.random(n) < 0.12) & (t != SCHOOL)
            started = _days_before(start, rng, 1, 1500, n)
            ended = np.full(n, NAT)
            ended[ends] = _days_before(start, rng, 10, 400, int(ends.sum()))
            started[ends] = ended[ends] - rng.integers(30, 700, int(ends.sum())).astype("timedelta64[D]")
        inv_rec_l.append(kids.astype(np.int32))
        inv_org_l.append(pick.astype(np.int32))
        inv_start_l.append(started)
        inv_end_l.append(ended)
    inv_rec = np.concatenate(inv_rec_l)
    inv_org = np.concatenate(inv_org_l)
    inv_start = np.concatenate(inv_start_l)
    inv_end = np.concatenate(inv_end_l)
    order = np.lexsort((inv_org, inv_rec))
    inv_rec, inv_org, inv_start, inv_end = inv_rec[order], inv_org[order], inv_start[order], inv_end[order]

    # -- caseload pools: an org's active involvements, split between its teams ---------------------
    active = np.isnat(inv_end)
    by_org = np.argsort(inv_org[active], kind="stable")
    org_pool = inv_rec[active][by_org]
    org_pool_off = np.concatenate([[0], np.cumsum(np.bincount(inv_org[active], minlength=n_orgs))]).astype(
        np.int64
    )

    # -- staff ------------------------------------------------------------------------------------
    factor = float(np.clip(params.children / n_areas / 5000, 0.8, 3.0))
    u_org, u_role = [], []
    for o in range(n_orgs):
        for role, count in STAFFING[int(org_type[o])]:
            small = SMALL_ORG_STAFF if params.org_mix == "small_orgs" and int(org_type[o]) in (GP, SCHOOL) else 1.0
            c = count if role in (R_SERVICE,) else max(1, round(count * factor * small * rng.uniform(0.8, 1.2)))
            u_org.extend([o] * c)
            u_role.extend([role] * c)
    user_org = np.array(u_org, dtype=np.int32)
    user_role = np.array(u_role, dtype=np.int8)
    n_users = len(user_org)

    # teams: groups of about six team-role colleagues with a disjoint share of the org's caseload
    user_team = np.full(n_users, -1, dtype=np.int32)
    team_org_l: list[int] = []
    team_pool_l: list[np.ndarray] = []
    team_off = [0]
    for o in range(n_orgs):
        members = np.nonzero((user_org == o) & np.isin(user_role, TEAM_ROLES))[0]
        pool = org_pool[org_pool_off[o] : org_pool_off[o + 1]]
        if len(members) == 0 or len(pool) == 0:
            continue
        n_teams = max(1, min(round(len(members) / 6), len(pool)))
        shuffled = rng.permutation(pool)
        for t_i, part in enumerate(np.array_split(shuffled, n_teams)):
            tid = len(team_org_l)
            team_org_l.append(o)
            team_pool_l.append(np.sort(part))
            team_off.append(team_off[-1] + len(part))
            user_team[members[t_i::n_teams]] = tid
    team_org = np.array(team_org_l, dtype=np.int32)
    team_pool = np.concatenate(team_pool_l) if team_pool_l else np.zeros(0, dtype=np.int32)
    team_pool_off = np.array(team_off, dtype=np.int64)

    user_start = _days_before(start, rng, 100, 3000, n_users)
    user_end = np.full(n_users, NAT)
    ordinary = np.isin(user_role, TEAM_ROLES + (R_MANAGER,))
    r = rng.random(n_users)
    new = ordinary & (r < 0.03)
    user_start[new] = np.datetime64(start, "D") + rng.integers(
        1, max(2, params.days - 20), int(new.sum())
    ).astype("timedelta64[D]")
    leaving = ordinary & (r >= 0.03) & (r < 0.06)  # leave during the period, disabled on time
    user_end[leaving] = np.datetime64(start, "D") + rng.integers(
        5, params.days - 2, int(leaving.sum())
    ).astype("timedelta64[D]")
    gone = ordinary & (r >= 0.06) & (r < 0.09)  # left before the period: accounts disabled, no events
    user_end[gone] = _days_before(start, rng, 5, 600, int(gone.sum()))
    user_start[gone] = user_end[gone] - rng.integers(200, 2000, int(gone.sum())).astype("timedelta64[D]")

    # idle accounts never used in the period: left open in orgs whose dormant-account practice is weak
    user_idle = np.zeros(n_users, dtype=bool)
    for weak_org in np.nonzero(practice.weak_dormant)[0]:
        cand = np.nonzero((user_org == weak_org) & ordinary & ~new & ~leaving & ~gone)[0]
        k = min(len(cand) // 4, int(rng.integers(2, 5)))
        user_idle[rng.choice(cand, size=k, replace=False)] = True

    user_mfa = rng.random(n_users) < practice.mfa_target[user_org]
    user_mfa[user_role == R_SERVICE] = False
    clinical = np.isin(user_role, (R_GP, R_CLINICIAN)) & np.isin(org_type[user_org], (GP, NHS))
    user_strong_auth = (clinical & (rng.random(n_users) < 0.6)).astype(np.int8)  # 1 = smartcard
    user_vetted = user_start - rng.integers(10, 60, n_users).astype("timedelta64[D]")
    user_trained = np.datetime64(params.end_date, "D") - rng.integers(5, 500, n_users).astype(
        "timedelta64[D]"
    )
    user_trained[rng.random(n_users) < 0.04] = NAT
    user_rate = HOURLY_RATE[user_role] * rng.lognormal(0.0, 0.45, n_users)
    user_rot = rng.integers(0, 1 << 30, n_users)
    user_start_hour = np.clip(rng.normal(8.4, 0.4, n_users), 7.6, 9.5)
    user_ip = (user_org.astype(np.int64) * IPS_PER_ORG + rng.integers(1, IPS_PER_ORG, n_users)).astype(
        np.int32
    )

    # staff family keys: their own household (not a child's), except ~2% whose children are in the
    # database (a legitimate link that only matters if they look them up)
    user_family_key = np.char.mod("fk-%012x", rng.integers(0, 2**48, size=n_users)).astype(object)
    parents = np.nonzero((rng.random(n_users) < 0.02) & (org_type[user_org] != NATIONAL))[0]
    user_family = np.full(n_users, -1, dtype=np.int64)
    for u in parents:
        a = org_area[user_org[u]]
        kid = int(rng.integers(area_child_off[a], area_child_off[a + 1]))
        user_family[u] = child_family[kid]
        user_family_key[u] = family_keys[child_family[kid]]
    user_family_key[user_role == R_SERVICE] = None

    # networks: each org declares one /24 of 10.0.0.0/8; the rest of the world is undeclared
    ip_strings: list[str] = []
    declared = []
    for o in range(n_orgs):
        a, b = 20 + o // 250, o % 250
        declared.append(f"10.{a}.{b}.0/24")
        ip_strings.extend(f"10.{a}.{b}.{h + 2}" for h in range(IPS_PER_ORG))
    ip_strings.extend(f"203.0.113.{h + 1}" for h in range(UNDECLARED_POOL))
    ip_strings.extend(f"198.51.100.{h + 1}" for h in range(FAR_POOL))

    return World(
        params=params,
        rng=rng,
        areas=areas,
        org_type=org_type,
        org_area=org_area,
        org_ids=org_ids,
        org_names=org_names,
        practice=practice,
        child_area=child_area,
        child_shielded=child_shielded,
        child_family=child_family,
        child_birth_year=child_birth_year,
        family_keys=family_keys,
        area_child_off=area_child_off,
        inv_rec=inv_rec,
        inv_org=inv_org,
        inv_start=inv_start,
        inv_end=inv_end,
        org_pool=org_pool,
        org_pool_off=org_pool_off,
        team_org=team_org,
        team_pool=team_pool,
        team_pool_off=team_pool_off,
        user_org=user_org,
        user_role=user_role,
        user_start=user_start,
        user_end=user_end,
        user_family_key=user_family_key,
        user_mfa=user_mfa,
        user_vetted=user_vetted,
        user_trained=user_trained,
        user_team=user_team,
        user_rate=user_rate,
        user_idle=user_idle,
        user_ip=user_ip,
        user_strong_auth=user_strong_auth,
        user_rot=user_rot,
        user_start_hour=user_start_hour,
        user_family=user_family,
        ip_strings=ip_strings,
        declared_networks=declared,
        user_ids=[f"U{u + 1:06d}" for u in range(n_users)],
    )


def undeclared_ip_base(world: World) -> int:
    """Index of the first undeclared (home broadband) address in world.ip_strings."""
    return world.n_orgs * IPS_PER_ORG


def far_ip_base(world: World) -> int:
    """Index of the first far-away (shared or compromised account) address in world.ip_strings."""
    return world.n_orgs * IPS_PER_ORG + UNDECLARED_POOL


__all__ = ["World", "Practice", "build_world", "ROLES", "TEAM_ROLES"]
