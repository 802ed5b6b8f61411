#!/usr/bin/env python3
"""An independent review world with labelled misuse, for a held-out measure of audit-kit's detection.

    python benchmarks/holdout/world.py OUT_DIR --seed N [--orgs 40] [--users 700] [--weeks 13]
                                       [--cell base] [--children N] [--start 2026-02-02]

Writes a review directory that follows the dataset contract (organisations.csv, users.csv,
subjects.csv, involvements.csv, events/*.csv) and the ground truth under OUT_DIR/truth/
(misuse.csv, legit_odd.csv, misuse_events.csv, world.json), which ingest does not read.

Written from the dataset and findings contracts and from what the published work looks for, without
reading audit-kit's own generator, detectors or tests, and importing nothing from audit_kit: plain
Python with numpy and pandas. Deterministic for a seed (and the same arguments). README.md in this
folder describes what is modelled, the cells and the labels.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

GENERATOR_VERSION = "1.0"
LONDON = ZoneInfo("Europe/London")
DAY = 86400
HOUR = 3600
MIN = 60
OPEN = 10**6  # day index of an involvement or case that has not ended

ACTIONS = ["view", "search", "create", "update", "delete", "export", "print", "login", "logout"]
VIEW, SEARCH, CREATE, UPDATE, DELETE, EXPORT, PRINT, LOGIN, LOGOUT = range(9)
OUTCOMES = ["success", "denied", "failure"]
OK, DENIED, FAILURE = range(3)
AUTHS = ["", "password", "mfa", "smartcard"]
PASSWORD, MFA, SMARTCARD = 1, 2, 3
PURPOSES = ["", "direct_care", "safeguarding", "case_management", "administration",
            "statutory_return", "inspection", "statistics", "emergency_care", "education"]
P = {p: i for i, p in enumerate(PURPOSES)}

# Which detectors of the findings contract should name each misuse category (the first is the
# one built for it); features of the injected case add more (see Case.expected()).
PRIMARY = {
    "family_lookup": ["family_lookup"],
    "vip_snooping": ["vip_snooping", "no_relationship"],
    "bulk_extraction": ["bulk_access", "volume_spike"],
    "export_spike": ["export_spike"],
    "leaver_account": ["leaver_account"],
    "dormant_account": ["dormant_account"],
    "shared_account": ["concurrent_sessions"],
    "shielded_access": ["shielded_access"],
    "out_of_area": ["out_of_area", "no_relationship"],
    "no_relationship": ["no_relationship"],
    "after_hours": ["after_hours"],
    "search_fishing": ["search_fishing"],
    "credential_stuffing": ["failed_login_burst"],
    "denied_spike": ["denied_spike"],
    "lingering_access": ["lingering_access", "no_relationship"],
    "weak_auth": ["weak_auth"],
    "peer_outlier": ["peer_outlier"],
    "log_gap": ["log_gap"],
}
CATEGORIES = list(PRIMARY)
# roles that may open a shielded child's record with no relationship, through break-glass
EMERGENCY_ROLES = ("ward_nurse", "paediatrician", "edt_social_worker")

# ---------------------------------------------------------------------------------------------
# Calendar: bank holidays (England) and a typical English school-holiday pattern, 2025–2027.


def _days(a: str, b: str) -> set[date]:
    d0, d1 = date.fromisoformat(a), date.fromisoformat(b)
    return {d0 + timedelta(i) for i in range((d1 - d0).days + 1)}


BANK_HOLIDAYS = {date.fromisoformat(s) for s in [
    "2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25",
    "2025-12-25", "2025-12-26", "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04",
    "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28", "2027-01-01", "2027-03-26",
    "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28"]}
SCHOOL_HOLIDAYS = set().union(*[_days(a, b) for a, b in [
    ("2024-12-21", "2025-01-05"), ("2025-02-17", "2025-02-21"), ("2025-04-07", "2025-04-21"),
    ("2025-05-26", "2025-05-30"), ("2025-07-23", "2025-09-02"), ("2025-10-27", "2025-10-31"),
    ("2025-12-20", "2026-01-04"), ("2026-02-16", "2026-02-20"), ("2026-03-30", "2026-04-10"),
    ("2026-05-25", "2026-05-29"), ("2026-07-22", "2026-09-01"), ("2026-10-26", "2026-10-30"),
    ("2026-12-19", "2027-01-03"), ("2027-02-15", "2027-02-19"), ("2027-03-29", "2027-04-09"),
    ("2027-05-31", "2027-06-04"), ("2027-07-21", "2027-09-01")]])

# ---------------------------------------------------------------------------------------------
# Cells: named changes to the world's character.


@dataclass(frozen=True)
class Cell:
    name: str
    about: str
    drop_involvements: tuple[float, float] = (0.0, 0.0)
    noise: tuple[float, float] = (0.03, 0.07)   # P(an ordinary pick is a sibling or area child)
    optional_columns: bool = True
    bursts: int = 1
    popular: int = 0
    tiny_practices: bool = False
    quiet: bool = False


CELLS = {c.name: c for c in [
    Cell("base", "the ordinary world: 2-5% of casework touches children with no recorded "
         "involvement; one inspection and one census return in the judged weeks; about half of "
         "the misuse hides inside the user's own office-hours sessions"),
    Cell("sparse_involvements", "20-40% of the true involvements are missing from "
         "involvements.csv (behaviour still follows the true ones)", drop_involvements=(0.2, 0.4)),
    Cell("noisy_browsing", "each user's ordinary work reads 2-10% children with no recorded "
         "involvement (siblings, new referrals, children in the area)", noise=(0.03, 0.14)),
    Cell("no_optional", "events carry no session_id, purpose or auth_method; users and "
         "subjects carry no family_key", optional_columns=False),
    Cell("bursty_legit", "three inspection bursts, three census or annual returns and LA "
         "duty-rota weeks that start in the judged weeks with no precedent in history", bursts=3),
    Cell("popular_records", "five children each read by 12-25 involved staff within a few "
         "days (strategy meetings, serious incidents)", popular=5),
    Cell("small_orgs", "three times as many GP practices and schools for the same staff, most "
         "with 2-5 users", tiny_practices=True),
    Cell("quiet_misuse", "misuse placed in office hours inside the user's own sessions, weaker, "
         "with extra ordinary work (cover traffic) on misuse days", quiet=True),
]}

# ---------------------------------------------------------------------------------------------
# Roles: tasks per working day, shift pattern, which children they work on, how they work.


@dataclass(frozen=True)
class Role:
    lam: float           # tasks per 7.5-hour block
    shift: str           # office | school | edt | police | ward | none
    pool: str            # where the children of ordinary tasks come from
    ps: float = 0.35     # P(search before opening the record)
    pu: float = 0.3      # P(update after viewing)
    pc: float = 0.02     # P(create)
    pp: float = 0.02     # P(print)
    remote: float = 0.1  # share of working days from home / on the road
    purpose: str = "safeguarding"
    admin: bool = False  # deletes now and then (duplicate records)


ROLES = {
    # local authority children's services
    "social_worker": Role(6.0, "office", "caseload", pu=0.5, pp=0.03, remote=0.3),
    "team_manager": Role(7.0, "office", "team", pu=0.25, remote=0.2),
    "early_help_worker": Role(5.0, "office", "caseload", pu=0.45, remote=0.25),
    "mash_practitioner": Role(15.0, "office", "mash", ps=0.85, pu=0.3, pc=0.08, remote=0.15),
    "edt_social_worker": Role(7.0, "edt", "edt", ps=0.7, pu=0.4, pc=0.05, remote=0.6),
    "business_support": Role(10.0, "office", "org_inv", ps=0.6, pu=0.35, pc=0.08, pp=0.04,
                             purpose="administration", admin=True),
    "data_officer": Role(4.0, "office", "org_inv", ps=0.5, pu=0.2, purpose="statutory_return",
                         admin=True),
    "qa_auditor": Role(3.0, "office", "org_inv", ps=0.3, pu=0.1, purpose="inspection"),
    # police
    "ppu_officer": Role(5.0, "police", "caseload", ps=0.45, pu=0.4, remote=0.05),
    "detective_sergeant": Role(5.0, "office", "team", pu=0.2, remote=0.1),
    "mash_police_officer": Role(12.0, "office", "mash", ps=0.85, pu=0.25, pc=0.05),
    "police_staff": Role(8.0, "office", "org_inv", ps=0.6, pu=0.3, pc=0.05,
                         purpose="administration", admin=True),
    # NHS trusts
    "health_visitor": Role(6.0, "office", "caseload", ps=0.25, pu=0.6, remote=0.45,
                           purpose="direct_care"),
    "school_nurse": Role(5.0, "office", "caseload", ps=0.3, pu=0.5, remote=0.3,
                         purpose="direct_care"),
    "ward_nurse": Role(5.0, "ward", "acute", ps=0.4, pu=0.5, remote=0.0, purpose="direct_care"),
    "paediatrician": Role(6.0, "office", "acute", ps=0.4, pu=0.4, pp=0.04, remote=0.05,
                          purpose="direct_care"),
    "safeguarding_nurse": Role(8.0, "office", "trust_safeguarding", ps=0.4, pu=0.35,
                               remote=0.2),
    "records_admin": Role(10.0, "office", "org_inv", ps=0.65, pu=0.35, pc=0.05, pp=0.05,
                          purpose="administration", admin=True),
    # GP practices
    "gp": Role(5.0, "office", "practice", ps=0.3, pu=0.35, pp=0.02, purpose="direct_care"),
    "practice_nurse": Role(4.0, "office", "practice_u5", ps=0.3, pu=0.5, purpose="direct_care"),
    "receptionist": Role(8.0, "office", "practice", ps=0.75, pu=0.3, pc=0.06, pp=0.03,
                         purpose="administration", admin=True),
    "practice_manager": Role(2.0, "office", "practice", ps=0.5, pu=0.2,
                             purpose="administration"),
    # schools
    "head_teacher": Role(1.5, "school", "concern", ps=0.4, pu=0.2, purpose="education"),
    "dsl": Role(5.0, "school", "concern", ps=0.3, pu=0.45, pp=0.03),
    "pastoral_lead": Role(3.0, "school", "concern", ps=0.35, pu=0.35, purpose="education"),
    "attendance_officer": Role(7.0, "school", "pupils", ps=0.5, pu=0.3, purpose="education"),
    "school_admin": Role(5.0, "school", "pupils", ps=0.6, pu=0.35, pc=0.04,
                         purpose="administration", admin=True),
    "school_data_manager": Role(2.0, "school", "pupils", ps=0.5, pu=0.3,
                                purpose="administration"),
    "teacher": Role(0.5, "school", "concern", ps=0.5, pu=0.2, purpose="education"),
    # national partners
    "analyst": Role(12.0, "office", "national", ps=0.6, pu=0.0, pc=0.0, pp=0.0, remote=0.4,
                    purpose="statistics"),
    "inspector": Role(2.0, "office", "national_la", ps=0.3, pu=0.0, pc=0.0, pp=0.02,
                      remote=0.5, purpose="inspection"),
    "partner_data_manager": Role(3.0, "office", "national", ps=0.5, pu=0.0, pc=0.0,
                                 purpose="statutory_return"),
    # accounts that exist but are not used (locums, secondees never disabled)
    "locum_social_worker": Role(0.0, "none", "org_inv"),
    "bank_nurse": Role(0.0, "none", "org_inv", purpose="direct_care"),
}

AREA_NAMES = ["Northmoor", "Eastbridge", "Kingsholm", "Westfold", "Ashdale", "Brackwater",
              "Southmere", "Hollinvale", "Redcastle", "Fenwick", "Oakhurst", "Marlcross",
              "Thornbury Vale", "Greywell", "Stanmoor", "Lowther", "Caldbeck", "Irwell"]
SCHOOL_WORDS = ["St Anne's Primary", "Oak Lane Primary", "Riverside Academy", "Hillcrest High",
                "Meadow Infant", "St Mark's CE Primary", "Castle View School", "Parkside Junior",
                "Brook Academy", "Victoria Park Primary", "Greenfield Secondary", "The Willows"]
SURGERY_WORDS = ["Road Surgery", "Medical Centre", "Health Centre", "Family Practice",
                 "Group Practice", "Street Surgery"]


@dataclass
class Org:
    i: int
    org_id: str
    name: str
    type: str
    area: int            # index into areas, -1 for national
    covers: list         # area indices whose children it serves
    hours: str
    net: str             # office /24 prefix "a.b.c."
    vpn: str             # VPN /24 prefix or ""
    auth: int            # usual auth method
    stamp: str           # "offset" or "Z": how this body's log writes time


class User:
    __slots__ = ("i", "uid", "org", "role", "team", "start", "end", "fam", "mfa", "active_from",
                 "active_to", "lam", "shift", "remote", "home_ip", "pt_days", "leave", "noise",
                 "start_h", "len_h", "p_late", "p_weekend", "offset", "host", "cases", "recent",
                 "referrals", "fam_recs", "special", "kind", "busy", "act_day")

    def __init__(self, i, uid, org, role):
        self.i, self.uid, self.org, self.role = i, uid, org, role
        self.team = -1
        self.start = None
        self.end = None
        self.fam = ""
        self.mfa = True
        self.active_from, self.active_to = 0, OPEN
        self.cases = []        # [rec, first_day, last_day] segments this user holds
        self.recent = []
        self.referrals = []
        self.fam_recs = set()
        self.special = None    # misuse case or legit-odd plan that owns this account
        self.kind = None       # legit-odd kind
        self.busy = 1.0
        self.act_day = (-1, [])


@dataclass
class Case:
    cid: str
    category: str
    user: int            # user index, -1 for organisation-level
    org: int
    strength: str
    placement: str       # hidden (inside own sessions) | own_session | account | org
    recs: list
    events: int = 0
    t0: int = 10**12
    t1: int = -1
    extra: tuple = ()
    note: str = ""


# ---------------------------------------------------------------------------------------------


class World:
    def __init__(self, args):
        self.args = args
        self.cell = CELLS[args.cell]
        self.seed = args.seed
        self.rng = random.Random(f"holdout-world-{args.seed}-{args.cell}")
        self.np = np.random.default_rng(int.from_bytes(
            hashlib.sha256(f"np-{args.seed}-{args.cell}".encode()).digest()[:8], "little"))
        self.start = date.fromisoformat(args.start)
        self.D = args.weeks * 7
        if self.D < 42:
            raise SystemExit("--weeks must be at least 6 (history plus two judged fortnights)")
        self.J0 = self.D - 28          # first judged day: the last four weeks are judged
        self.dates = [self.start + timedelta(d) for d in range(self.D)]
        self.bank = {d for d, x in enumerate(self.dates) if x in BANK_HOLIDAYS}
        self.school_hol = {d for d, x in enumerate(self.dates) if x in SCHOOL_HOLIDAYS}
        self.ev = []
        self.sess = {}
        self.cases: list[Case] = []
        self.odd = []            # (user_idx or -1, org_idx, kind)
        self._cache = {}
        self._sid = 0
        self.sid_last = {}
        self.pending = []
        self.case_ts = {}
        self.drop_days = set()
        self._odd_seen = set()
        self.family_explained = []

    # ---- small helpers ------------------------------------------------------------------
    def weekday(self, d):
        return self.dates[d].weekday() if 0 <= d < self.D else (self.start + timedelta(d)).weekday()

    def workday(self, d):
        return self.weekday(d) < 5 and d not in self.bank

    def hexkey(self, *parts, n=16):
        return hashlib.sha256("|".join(map(str, (self.seed, *parts))).encode()).hexdigest()[:n]

    def new_sid(self):
        self._sid += 1
        return self.hexkey("sid", self._sid, n=20)

    def rand_ip(self, firsts):
        r = self.rng
        return f"{r.choice(firsts)}.{r.randint(1, 254)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    # ---- organisations ------------------------------------------------------------------
    def build_orgs(self):
        r, n = self.rng, self.args.orgs
        n_nat = 2 if n >= 12 else 1
        A = max(2, min(len(AREA_NAMES), round(n / 7)))
        n_la, n_pol, n_nhs = A, math.ceil(A / 2), math.ceil(A / 2)
        rest = max(2, n - n_nat - n_la - n_pol - n_nhs)
        n_gp, n_sch = (rest + 1) // 2, rest // 2
        if self.cell.tiny_practices:
            n_gp, n_sch = n_gp * 3, n_sch * 3
        self.areas = AREA_NAMES[:A]
        self.A = A
        used = set()

        def net():
            while True:
                p = f"{r.choice([62, 81, 109, 146, 151, 176, 193, 194, 195, 212, 213])}." \
                    f"{r.randint(0, 255)}.{r.randint(0, 255)}."
                if p not in used:
                    used.add(p)
                    return p

        orgs = []

        def add(prefix, num, name, typ, area, covers, hours, vpn, auth, stamp):
            oid = f"{prefix}{num:03d}"
            orgs.append(Org(len(orgs), oid, name, typ, area, covers, hours, net(),
                            net() if vpn else "", auth, stamp))

        for a in range(A):
            add("LA", a + 1, f"{self.areas[a]} Council Children's Services", "local_authority",
                a, [a], "08:00-18:00", True, MFA, "offset")
        for k in range(n_pol):
            cov = [a for a in (2 * k, 2 * k + 1) if a < A]
            add("PF", k + 1, f"{' and '.join(self.areas[a] for a in cov)} Police",
                "police_force", cov[0], cov, "00:00-23:59", True, MFA, "Z")
        for k in range(n_nhs):
            cov = [a for a in (2 * k, 2 * k + 1) if a < A]
            add("NT", k + 1, f"{self.areas[cov[0]]} and District NHS Foundation Trust",
                "nhs_trust", cov[0], cov, "", True, SMARTCARD, "Z")
        for k in range(n_gp):
            a = k % A
            add("GP", k + 1, f"{self.areas[a]} {r.choice(SURGERY_WORDS)} {k + 1}", "gp_practice",
                a, [a], "08:00-18:30", False, SMARTCARD, r.choice(["offset", "Z"]))
        for k in range(n_sch):
            a = (k + 1) % A
            mfa = r.random() < 0.5
            add("SC", k + 1, f"{r.choice(SCHOOL_WORDS)}, {self.areas[a]} ({k + 1})", "school",
                a, [a], "08:00-17:00", False, MFA if mfa else PASSWORD, "offset")
        for k in range(n_nat):
            name = ["National Child Health Statistics", "Children's Services Inspectorate"][k % 2]
            add("NP", k + 1, name, "national_partner", -1, list(range(A)), "09:00-17:30", True,
                MFA, "Z")
        self.orgs = orgs
        self.by_type = {}
        for o in orgs:
            self.by_type.setdefault(o.type, []).append(o.i)

    # ---- children, families ---------------------------------------------------------------
    def build_children(self):
        r, A = self.rng, self.A
        C = self.args.children or 3500 * A
        area, fam, by = [], [], []
        fam_members = []
        year = self.start.year
        while len(area) < C:
            a = r.randrange(A)
            size = r.choices([1, 2, 3, 4, 5], [40, 35, 16, 6, 3])[0]
            f = len(fam_members)
            members = []
            base = year - r.randint(0, 17)
            for _ in range(size):
                if len(area) >= C:
                    break
                members.append(len(area))
                area.append(a)
                fam.append(f)
                by.append(min(year, max(year - 17, base + r.randint(-6, 6))))
            fam_members.append(members)
        self.C = C
        self.child_area = np.array(area)
        self.child_fam = np.array(fam)
        self.child_by = np.array(by)
        self.age = year - self.child_by          # age this year (0 = born this year)
        self.fam_members = fam_members
        self.fam_key = [self.hexkey("family", f) for f in range(len(fam_members))]
        ids = set()
        rid = []
        while len(rid) < C:
            x = f"C{r.randint(10**7, 10**8 - 1)}"
            if x not in ids:
                ids.add(x)
                rid.append(x)
        self.rid = rid
        self.shielded = np.zeros(C, dtype=bool)
        for c in r.sample(range(C), max(3, int(C * 0.006))):
            self.shielded[c] = True
        self.by_area = [np.flatnonzero(self.child_area == a) for a in range(A)]

    # ---- involvements (the truth of who works with whom) ---------------------------------
    def build_involvements(self):
        r, D = self.rng, self.D
        inv = []   # [rec, org, role, s_day, e_day]
        orgs = self.orgs
        gps = {a: [i for i in self.by_type.get("gp_practice", []) if orgs[i].area == a]
               for a in range(self.A)}
        schools = {a: [i for i in self.by_type.get("school", []) if orgs[i].area == a]
                   for a in range(self.A)}
        trust_of = {a: next(i for i in self.by_type["nhs_trust"] if a in orgs[i].covers)
                    for a in range(self.A)}
        police_of = {a: next(i for i in self.by_type["police_force"] if a in orgs[i].covers)
                     for a in range(self.A)}
        la_of = {orgs[i].area: i for i in self.by_type["local_authority"]}
        self.la_of, self.trust_of, self.police_of = la_of, trust_of, police_of
        self.gp_list = {i: [] for i in self.by_type.get("gp_practice", [])}
        self.pupils = {i: [] for i in self.by_type.get("school", [])}
        self.la_cases, self.police_cases, self.hv_cases, self.sn_cases = [], [], [], []
        self.acute = []
        gp_w = {a: [r.uniform(0.4, 1.6) for _ in gps[a]] for a in gps}
        sc_w = {a: [r.uniform(0.4, 1.6) for _ in schools[a]] for a in schools}
        for c in range(self.C):
            a, age = int(self.child_area[c]), int(self.age[c])
            born = -int(age * 365.25) - r.randint(0, 300)
            if gps[a]:
                g = r.choices(gps[a], gp_w[a])[0]
                s = max(born, -r.randint(30, 4000))
                if r.random() < 0.015:   # moved practice during the period
                    mv = r.randint(5, D - 5)
                    inv.append([c, g, "registered_gp", s, mv])
                    g2 = r.choice(gps[a])
                    inv.append([c, g2, "registered_gp", mv + 1, OPEN])
                    self.gp_list[g2].append(c)
                else:
                    inv.append([c, g, "registered_gp", s, OPEN])
                self.gp_list[g].append(c)
            if 4 <= age <= 16 and schools[a]:
                sc = r.choices(schools[a], sc_w[a])[0]
                inv.append([c, sc, "school", -r.randint(30, 365 * min(age - 3, 7)), OPEN])
                self.pupils[sc].append(c)
            t = trust_of[a]
            if age <= 4:
                k = len(inv)
                inv.append([c, t, "health_visiting", max(born, -1500), OPEN])
                self.hv_cases.append(k)
            elif age <= 16 and r.random() < 0.11:
                k = len(inv)
                inv.append([c, t, "school_nursing", -r.randint(10, 900), OPEN])
                self.sn_cases.append(k)
            if r.random() < 0.05:   # an acute episode (admission, clinic) in or before the period
                s = r.randint(-60, D - 3)
                e = s + r.choice([0, 1, 2, 3, 5, 8, 14, 30])
                self.acute.append(len(inv))
                inv.append([c, t, "acute_paediatrics", s, e])
        # local-authority casework: open before the period, some closing, new ones opening
        for a in range(self.A):
            kids = list(self.by_area[a])
            la = la_of[a]
            chosen = r.sample(kids, int(len(kids) * 0.055))
            # siblings often come as a group
            group = []
            seen = set()
            for c in chosen:
                if c in seen:
                    continue
                sib = self.fam_members[self.child_fam[c]]
                grp = sib if r.random() < 0.6 else [c]
                for x in grp:
                    seen.add(x)
                group.append(grp)
            for grp in group:
                role = r.choices(["child_in_need", "child_protection", "looked_after",
                                  "early_help"], [45, 20, 15, 20])[0]
                if r.random() < 0.8:
                    s = -r.randint(7, 700)
                else:
                    s = r.randint(0, D - 5)
                e = OPEN
                if r.random() < (0.28 if s < 0 else 0.12):
                    e = max(s + 7, r.randint(3, D - 3))
                    if e >= D:
                        e = OPEN
                for x in grp:
                    self.la_cases.append(len(inv))
                    inv.append([x, la, role, s, e])
            # police public-protection involvements
            pol = police_of[a]
            for c in r.sample(kids, int(len(kids) * 0.025)):
                s = -r.randint(5, 300) if r.random() < 0.75 else r.randint(0, D - 5)
                e = OPEN if r.random() > 0.4 else max(s + 5, r.randint(3, D - 3))
                self.police_cases.append(len(inv))
                inv.append([c, pol, "police_ppu", s, e])
        self.inv = inv
        self.inv_by_rec = {}
        for k, (c, *_rest) in enumerate(inv):
            self.inv_by_rec.setdefault(c, []).append(k)
        self.concern = {}
        la_kids = {inv[k][0] for k in self.la_cases}
        for sc, pl in self.pupils.items():
            lst = [c for c in pl if c in la_kids or r.random() < 0.05]
            self.concern[sc] = lst or pl[:5]
        self.trust_sg = {}
        for t in self.by_type["nhs_trust"]:
            lst = [c for c in la_kids if any(inv[k][1] == t for k in self.inv_by_rec[c])]
            self.trust_sg[t] = lst
        self.la_kids = sorted(la_kids)

    def involved(self, c, o, d, written=False):
        for k in self.inv_by_rec.get(c, ()):
            c_, o_, _, s, e = self.inv[k]
            if o_ == o and s <= d <= e and (not written or self.inv_written[k]):
                return True
        return False

    def ended_before(self, c, o, d, gap=21):
        """The org's involvement with c ended at least `gap` days before d (and none is open)."""
        ended = False
        for k in self.inv_by_rec.get(c, ()):
            c_, o_, _, s, e = self.inv[k]
            if o_ == o:
                if s <= d <= e:
                    return False
                if e + gap <= d:
                    ended = True
        return ended

    # ---- users --------------------------------------------------------------------------
    def role_mix(self, o: Org, n: int) -> list[tuple[str, int]]:
        r = self.rng
        t = o.type
        roles = []
        if t == "local_authority":
            fixed = [("edt_social_worker", -1)] * 2 + [("mash_practitioner", -1)] * 2 + \
                [("data_officer", -1)] + ([("qa_auditor", -1)] if n >= 20 else [])
            bs = max(1, round(n * 0.1))
            eh = max(1, round(n * 0.12))
            left = max(2, n - len(fixed) - bs - eh)
            teams = max(1, round(left / 7))
            roles = fixed + [("business_support", -1)] * bs + [("early_help_worker", 900)] * eh
            for k in range(teams):
                roles.append(("team_manager", k))
            sw = left - teams
            for k in range(sw):
                roles.append(("social_worker", k % teams))
        elif t == "police_force":
            fixed = [("mash_police_officer", -1)] * (2 if n >= 12 else 1)
            st = max(1, round(n * 0.15))
            left = max(2, n - len(fixed) - st)
            teams = max(1, round(left / 7))
            roles = fixed + [("police_staff", -1)] * st + [("detective_sergeant", k)
                                                          for k in range(teams)]
            roles += [("ppu_officer", k % teams) for k in range(left - teams)]
        elif t == "nhs_trust":
            roles = [("safeguarding_nurse", -1)] * 2
            roles += [("paediatrician", -1)] * max(1, round(n * 0.1))
            roles += [("ward_nurse", -1)] * max(2, round(n * 0.2))
            roles += [("school_nurse", 901)] * max(1, round(n * 0.12))
            roles += [("records_admin", -1)] * max(1, round(n * 0.08))
            roles += [("health_visitor", 902)] * max(2, n - len(roles))
        elif t == "gp_practice":
            if n <= 3:
                roles = [("gp", -1), ("receptionist", -1), ("practice_nurse", -1)][:n]
            else:
                roles = [("practice_manager", -1)] + [("receptionist", -1)] * max(1, round(n * 0.3))
                roles += [("practice_nurse", -1)] * max(1, round(n * 0.2))
                roles += [("gp", -1)] * max(1, n - len(roles))
        elif t == "school":
            base = ["dsl", "school_admin", "head_teacher", "attendance_officer",
                    "school_data_manager"]
            roles = [(x, -1) for x in base[:n]]
            while len(roles) < n:
                roles.append((r.choice(["pastoral_lead", "teacher", "teacher"]), -1))
        else:
            roles = [("partner_data_manager", -1)]
            ins = max(1, round(n * 0.3))
            roles += [("inspector", -1)] * ins + [("analyst", -1)] * max(1, n - 1 - ins)
        return roles[:max(n, 1)] if len(roles) > n else roles

    def build_users(self):
        r = self.rng
        U = self.args.users
        share = {"local_authority": .31, "police_force": .11, "nhs_trust": .19,
                 "gp_practice": .18, "school": .17, "national_partner": .04}
        n_dormant = max(2, round(U * 0.012))
        U_active = U - n_dormant
        want = []
        for o in self.orgs:
            k = len(self.by_type[o.type])
            want.append(share[o.type] * U_active / k * r.uniform(0.7, 1.3))
        scale = U_active / sum(want)
        sizes = [max(2, int(w * scale)) for w in want]
        if self.cell.tiny_practices:
            for o in self.orgs:
                if o.type in ("gp_practice", "school") and r.random() < 0.75:
                    sizes[o.i] = r.randint(2, 5)
        # fix the total by adjusting the biggest bodies
        diff = U_active - sum(sizes)
        order = sorted(range(len(sizes)), key=lambda i: -sizes[i])
        k = 0
        while diff != 0:
            i = order[k % len(order)]
            step = 1 if diff > 0 else -1
            if sizes[i] + step >= 2:
                sizes[i] += step
                diff -= step
            k += 1
        users = []
        ids = set()

        def uid():
            while True:
                x = f"u{r.randint(100000, 999999)}"
                if x not in ids:
                    ids.add(x)
                    return x

        for o in self.orgs:
            for role, team in self.role_mix(o, sizes[o.i]):
                u = User(len(users), uid(), o.i, role)
                u.team = (o.i, team) if team >= 0 else -1
                users.append(u)
        # dormant accounts: never disabled, never used
        la_trust = self.by_type["local_authority"] + self.by_type["nhs_trust"]
        for _ in range(n_dormant):
            o = r.choice(la_trust)
            role = "locum_social_worker" if self.orgs[o].type == "local_authority" else "bank_nurse"
            u = User(len(users), uid(), o, role)
            users.append(u)
        self.users = users
        for u in users:
            self.init_user(u)

    def init_user(self, u: User):
        r = self.rng
        o = self.orgs[u.org]
        spec = ROLES[u.role]
        u.start = self.start - timedelta(days=r.randint(120, 4000))
        u.lam = spec.lam * r.uniform(0.7, 1.3)
        u.shift = spec.shift
        u.remote = spec.remote * r.uniform(0.5, 1.5)
        u.noise = r.uniform(*self.cell.noise)
        u.start_h = r.gauss(8.4, 0.55) if spec.shift != "school" else r.gauss(7.9, 0.35)
        u.len_h = r.gauss(8.0, 0.5)
        u.p_late = r.choice([0.0, 0.0, 0.02, 0.05, 0.1]) if u.role in (
            "social_worker", "team_manager", "health_visitor", "dsl", "early_help_worker",
            "analyst", "head_teacher") else r.choice([0.0, 0.0, 0.0, 0.02])
        u.p_weekend = r.choice([0.0, 0.0, 0.0, 0.02, 0.05])
        u.offset = r.randrange(21)
        u.host = r.randint(10, 250)
        u.home_ip = self.rand_ip([2, 5, 31, 77, 78, 79, 82, 86, 90, 92, 94])
        u.pt_days = set(range(5)) if r.random() > 0.2 else set(r.sample(range(5), r.choice([3, 4])))
        # MFA enrolment
        if o.auth == MFA:
            u.mfa = r.random() > 0.06
        elif o.auth == SMARTCARD:
            u.mfa = True
        else:
            u.mfa = False
        if not u.mfa:
            u.remote = 0.0
        # annual leave and sickness
        leave = set()
        for _ in range(r.choice([0, 1, 1, 2])):
            s = r.randrange(self.D)
            leave |= set(range(s, s + r.randint(4, 12)))
        leave |= {r.randrange(self.D) for _ in range(r.randint(0, 4))}
        u.leave = leave
        if spec.shift == "none":
            u.active_from = OPEN
        # staff with a family in the database (most do not read it)
        if r.random() < 0.35:
            if r.random() < 0.6 and o.area >= 0:
                kids = self.by_area[o.area]
                c = int(kids[r.randrange(len(kids))])
                u.fam = self.fam_key[self.child_fam[c]]
                u.fam_recs = set(self.fam_members[self.child_fam[c]])
            else:
                u.fam = self.hexkey("staff-family", u.i)

    # ---- account-level plans: leavers, starters, returners ---------------------------------
    def plan_accounts(self):
        r = self.rng
        J0, D = self.J0, self.D
        self.free = [u for u in self.users if u.shift != "none"]

        def take(pred, n):
            cand = [u for u in self.free if u.special is None and u.kind is None and pred(u)]
            r.shuffle(cand)
            got = cand[:n]
            for u in got:
                u.special = "planned"
            return got

        def sc(u): return u.role in ("social_worker", "early_help_worker", "health_visitor",
                                  "ppu_officer", "school_nurse")
        # ordinary leavers: end_date set, activity stops
        for u in take(lambda u: u.role not in ("data_officer", "partner_data_manager"),
                      max(2, round(len(self.users) * 0.025))):
            e = r.randint(10, D - 3)
            u.end = self.dates[e]
            u.active_to = e
            u.special = None
            u.kind = "__leaver"
            if e >= self.J0 - 14:     # judged weeks may still see its last night shift end
                self.odd.append((u.i, u.org, "ordinary_leaver"))
        # new starters
        for u in take(lambda u: sc(u) or u.role in ("receptionist", "records_admin",
                                                     "business_support"), r.randint(2, 3)):
            s = r.randint(J0 - 14, J0 + 6)
            u.start = self.dates[s]
            u.active_from = s
            self.add_odd(u, "new_starter")
        # returners from long leave (maternity, long sickness): silent in history
        for u in take(sc, r.randint(1, 2)):
            u.active_from = r.randint(J0 - 5, J0 + 5)
            self.add_odd(u, "returner")
        # busy ordinary workers
        for u in take(lambda u: u.role in ("social_worker", "receptionist", "records_admin",
                                           "health_visitor", "business_support"),
                      r.randint(1, 2)):
            u.busy = r.uniform(2.2, 3.0)
            self.add_odd(u, "busy_worker")
        # misuse that changes the account before any work is generated: the own-family
        # reader's family key, and the leaver whose login goes on being used
        def ordinary(u): return u.kind is None and self.orgs[u.org].type != "national_partner"
        self.plan_family = []
        for u in take(lambda u: ordinary(u) and self.orgs[u.org].area >= 0, self.n_cases()):
            o = self.orgs[u.org]
            areas = [o.area] if r.random() < 0.7 else [(o.area + 1) % self.A]
            for _ in range(300):
                c = self.area_child(areas)
                f = int(self.child_fam[c])
                mem = self.fam_members[f]
                if not any(self.inv[k][1] == u.org for m in mem for k in self.inv_by_rec[m]):
                    u.fam = self.fam_key[f]
                    u.fam_recs = set(mem)
                    self.plan_family.append((u, f))
                    break
        self.plan_leaver = []
        for u in take(ordinary, self.n_cases()):
            e = r.randint(J0 - 21, J0 + 5)
            u.end = self.dates[e]
            u.active_to = e
            self.plan_leaver.append((u, e))

    def add_odd(self, u, kind):
        if (u.i, u.org, kind) in self._odd_seen:
            return
        self._odd_seen.add((u.i, u.org, kind))
        if not u.kind or u.kind.startswith("__"):
            u.kind = kind
        self.odd.append((u.i, u.org, kind))

    # ---- allocation of casework to workers -------------------------------------------------
    def allocate(self):
        r, D = self.rng, self.D
        teams = {}
        for u in self.users:
            if u.team != -1 and u.role in ("social_worker", "early_help_worker", "ppu_officer",
                                            "health_visitor", "school_nurse"):
                teams.setdefault(u.team, []).append(u)
        # which team takes each case
        assign = {}
        for k in self.la_cases + self.police_cases + self.hv_cases + self.sn_cases:
            c, o, role, s, e = self.inv[k]
            if role == "early_help":
                key = (o, 900)
            elif role == "health_visiting":
                key = (o, 902)
            elif role == "school_nursing":
                key = (o, 901)
            else:
                opts = [t for t in teams if t[0] == o and t[1] < 900]
                if not opts:
                    continue
                key = opts[self.child_fam[c] % len(opts)]   # siblings go to the same team
            if key in teams:
                assign.setdefault(key, []).append(k)
        self.team_cases = {}
        for key, ks in assign.items():
            ws = teams[key]
            starts = {}
            for k in ks:
                starts.setdefault(max(0, self.inv[k][3]), []).append(k)
            holder = {}   # k -> (user, seg_start)
            load = {w.i: 0 for w in ws}
            wmap = {w.i: w for w in ws}
            seg = []
            prev_active = set()
            for d in range(D):
                act = {w.i for w in ws if w.active_from <= d <= w.active_to}
                if not act:
                    continue
                # workers who left or went on long leave: hand their cases on
                for k, (wi, s0) in list(holder.items()):
                    if wi not in act:
                        seg.append((wi, k, s0, d - 1))
                        nw = min(act, key=lambda x: (load[x], r.random()))
                        load[wi] -= 1
                        load[nw] += 1
                        holder[k] = (nw, d)
                # newly active workers take some cases from the busiest
                for wi in act - prev_active:
                    if d == 0:
                        continue
                    avg = sum(load[x] for x in act) / len(act)
                    want = int(avg * 0.6)
                    for _ in range(want):
                        busiest = max(act, key=lambda x: load[x])
                        if load[busiest] <= load[wi] + 1:
                            break
                        ks_b = [k for k, (w_, _) in holder.items() if w_ == busiest]
                        k = r.choice(ks_b)
                        seg.append((busiest, k, holder[k][1], d - 1))
                        load[busiest] -= 1
                        load[wi] += 1
                        holder[k] = (wi, d)
                prev_active = act
                for k in starts.get(d, ()):
                    e = self.inv[k][4]
                    if e < d:
                        continue
                    wi = min(act, key=lambda x: (load[x], r.random()))
                    holder[k] = (wi, d if self.inv[k][3] >= 0 else self.inv[k][3])
                    load[wi] += 1
                for k, (wi, s0) in list(holder.items()):
                    if self.inv[k][4] == d:
                        seg.append((wi, k, s0, d))
                        load[wi] -= 1
                        del holder[k]
            for k, (wi, s0) in holder.items():
                seg.append((wi, k, s0, OPEN))
            for wi, k, s0, e in seg:
                c = self.inv[k][0]
                tail = e
                if e < D and r.random() < 0.1:
                    tail = e + r.randint(1, 5)   # a closing summary written a few days late
                wmap[wi].cases.append([c, s0, tail, e])
            self.team_cases[key] = [(self.inv[k][0], self.inv[k][3], self.inv[k][4]) for k in ks]
        # managers and sergeants read their team's cases
        for u in self.users:
            if u.role in ("team_manager", "detective_sergeant") and u.team != -1:
                u.cases = [[c, s, e, e] for (c, s, e) in self.team_cases.get(u.team, [])]

    # ---- pools ----------------------------------------------------------------------------
    def org_active(self, o, d):
        key = ("org", o, d // 7)
        lst = self._cache.get(key)
        if lst is None:
            lo, hi = (d // 7) * 7, (d // 7) * 7 + 6
            lst = [c for k in self.org_inv[o] for (c, s, e) in [self.inv_short[k]]
                   if s <= hi and e >= lo]
            self._cache[key] = lst
        return lst

    def acute_active(self, o, d):
        key = ("acute", o, d)
        lst = self._cache.get(key)
        if lst is None:
            lst = [self.inv[k][0] for k in self.acute if self.inv[k][1] == o
                   and self.inv[k][3] <= d <= self.inv[k][4]]
            self._cache[key] = lst
        return lst

    def area_child(self, areas):
        a = areas[self.rng.randrange(len(areas))] if len(areas) > 1 else areas[0]
        kids = self.by_area[a]
        return int(kids[self.rng.randrange(len(kids))])

    def pool_pick(self, u: User, d: int) -> int:
        r = self.rng
        o = self.orgs[u.org]
        pool = ROLES[u.role].pool
        if pool in ("caseload", "team"):
            if u.act_day[0] != d:
                u.act_day = (d, [c for (c, s, e, _) in u.cases if s <= d <= e])
            act = u.act_day[1]
            if act:
                return act[r.randrange(len(act))]
            lst = self.org_active(u.org, d)
            return lst[r.randrange(len(lst))] if lst else self.area_child(o.covers)
        if pool == "org_inv":
            lst = self.org_active(u.org, d)
            return lst[r.randrange(len(lst))] if lst else self.area_child(o.covers)
        if pool == "practice":
            lst = self.gp_list[u.org]
            return lst[r.randrange(len(lst))] if lst else self.area_child(o.covers)
        if pool == "practice_u5":
            key = ("u5", u.org)
            lst = self._cache.get(key)
            if lst is None:
                lst = [c for c in self.gp_list[u.org] if self.age[c] <= 5] or self.gp_list[u.org]
                self._cache[key] = lst
            return lst[r.randrange(len(lst))] if lst else self.area_child(o.covers)
        if pool == "pupils":
            lst = self.pupils[u.org]
            return lst[r.randrange(len(lst))] if lst else self.area_child(o.covers)
        if pool == "concern":
            lst = self.concern.get(u.org) or self.pupils[u.org]
            return lst[r.randrange(len(lst))] if lst else self.area_child(o.covers)
        if pool == "acute":
            lst = self.acute_active(u.org, d)
            if lst and r.random() < 0.85:
                return lst[r.randrange(len(lst))]
            return self.area_child(o.covers)     # emergency attendances, not yet recorded
        if pool == "trust_safeguarding":
            lst = self.trust_sg.get(u.org) or self.org_active(u.org, d)
            return lst[r.randrange(len(lst))]
        if pool == "national":
            return r.randrange(self.C)
        if pool == "national_la":
            return self.la_kids[r.randrange(len(self.la_kids))]
        if pool == "mash":
            # a referral queue: new referrals each day, followed up over the next days
            if u.referrals and r.random() < 0.5:
                return u.referrals[r.randrange(len(u.referrals))]
            x = r.random()
            if x < 0.25 and self.upcoming_la.get(o.area if o.area >= 0 else 0):
                ups = [c for (c, s) in self.upcoming_la[o.area] if d <= s <= d + 7]
                c = ups[r.randrange(len(ups))] if ups else self.area_child(o.covers)
            elif x < 0.88:
                c = self.area_child([o.area] if o.type == "local_authority" else o.covers)
            elif x < 0.97:
                nb = [(o.area + 1) % self.A, (o.area - 1) % self.A]
                c = self.area_child(nb)
            else:
                c = r.randrange(self.C)
            u.referrals.append(c)
            if len(u.referrals) > 25:
                u.referrals.pop(0)
            return c
        if pool == "edt":
            x = r.random()
            if x < 0.5:
                lst = self.org_active(u.org, d)
                if lst:
                    return lst[r.randrange(len(lst))]
            if x < 0.8:
                return self.area_child([o.area])
            return self.area_child([(o.area + 1) % self.A])   # EDT shared with a neighbour
        return self.area_child(o.covers if o.covers else [0])

    def pick(self, u: User, d: int) -> int:
        r = self.rng
        for _ in range(3):
            if r.random() < u.noise:
                if u.recent and r.random() < 0.5:
                    sib = self.fam_members[self.child_fam[u.recent[r.randrange(len(u.recent))]]]
                    c = sib[r.randrange(len(sib))]
                else:
                    o = self.orgs[u.org]
                    c = self.area_child(o.covers) if o.covers else r.randrange(self.C)
            else:
                c = self.pool_pick(u, d)
            if self.shielded[c] and u.role not in EMERGENCY_ROLES and \
                    not self.involved(c, u.org, d):
                continue      # a shielded child's record does not open without a relationship
            if c not in u.fam_recs:
                u.recent.append(c)
                if len(u.recent) > 12:
                    u.recent.pop(0)
                return c
        return -1

    # ---- time -----------------------------------------------------------------------------
    def shifts(self, u: User, d: int):
        """Blocks of work (local seconds since the first midnight, remote?) for user u on day d."""
        r = self.rng
        if not (u.active_from <= d <= u.active_to) or d in u.leave:
            return []
        wd = self.weekday(d)
        base = d * DAY
        if u.shift in ("office", "school"):
            if u.shift == "school" and d in self.school_hol:
                if u.role in ("dsl", "head_teacher", "school_admin") and wd < 5 and \
                        d not in self.bank and r.random() < 0.15:
                    s = base + int((9.5 + r.random() * 3) * HOUR)
                    return [(s, s + r.randint(20, 120) * MIN, r.random() < 0.6)]
                return []
            if wd >= 5 or d in self.bank:
                if r.random() < u.p_weekend:
                    s = base + int((10 + r.random() * 8) * HOUR)
                    return [(s, s + r.randint(20, 90) * MIN, True)]
                return []
            if wd not in u.pt_days:
                return []
            s = base + int((u.start_h + r.gauss(0, 0.3)) * HOUR)
            e = s + int((u.len_h + r.gauss(0, 0.4)) * HOUR)
            blocks = [(s, e, r.random() < u.remote)]
            if r.random() < u.p_late:
                ls = base + int((19 + r.random() * 1.5) * HOUR)
                blocks.append((max(ls, e + 30 * MIN), max(ls, e + 30 * MIN) + r.randint(20, 80) * MIN,
                               u.mfa))
            return blocks
        if u.shift == "edt":
            # emergency duty rota: about three or four shifts a week, nights and weekends
            if (d * 3 + u.offset) % 7 not in (0, 2, 4, 5):
                return []
            if wd < 5 and d not in self.bank:
                s = base + 17 * HOUR + r.randint(0, 40) * MIN
                blocks = [(s, s + int(r.uniform(6.5, 8.5) * HOUR), r.random() < u.remote)]
                if r.random() < 0.35:
                    m = base + DAY + int(r.uniform(2, 6.5) * HOUR)
                    blocks.append((m, m + r.randint(20, 70) * MIN, True))
                return blocks
            s = base + 9 * HOUR + r.randint(0, 60) * MIN
            return [(s, s + int(r.uniform(10, 13) * HOUR), r.random() < u.remote)]
        if u.shift == "police":
            wk = d // 7
            rest = {(u.offset + wk * 2) % 7, (u.offset + wk * 2 + 1) % 7}
            if wd in rest:
                return []
            if u.offset % 10 < 7:        # most PPU officers work days with some lates
                st = 8 if (wk + u.offset) % 3 else 11
            else:                         # a rotating early / late / night pattern
                st = [7, 15, 22][(wk + u.offset) % 3]
            s = base + st * HOUR + r.randint(-20, 30) * MIN
            return [(s, s + int(r.uniform(7.5, 9) * HOUR), r.random() < u.remote)]
        if u.shift == "ward":
            if r.random() > 0.52:
                return []
            night = (d // 7 + u.offset) % 3 == 0
            st = 19.5 if night else 7.5
            s = base + int(st * HOUR) + r.randint(-10, 20) * MIN
            return [(s, s + 12 * HOUR, False)]
        return []

    # ---- events --------------------------------------------------------------------------
    def ip_for(self, u: User, remote: bool) -> str:
        o = self.orgs[u.org]
        r = self.rng
        if not remote:
            host = u.host if r.random() < 0.8 else r.randint(10, 250)
            return f"{o.net}{host}"
        if o.vpn and r.random() < 0.85:
            return f"{o.vpn}{r.randint(2, 250)}"
        if u.role == "health_visitor" and r.random() < 0.5:
            return f"{r.choice(['148.252', '82.132', '92.40', '31.94'])}.{r.randint(0, 255)}." \
                   f"{r.randint(1, 254)}"
        return u.home_ip

    def auth_for(self, u: User, remote: bool) -> int:
        o = self.orgs[u.org]
        if o.auth == SMARTCARD:
            return SMARTCARD
        if o.auth == MFA:
            return MFA if u.mfa else PASSWORD
        return PASSWORD

    def emit(self, t, u: User, act, rec=-1, out=OK, ctx=None, rr=-1, bg=0, tag=0, org=None):
        sid, ip, auth, pur = ctx
        self.ev.append((t, u.i, u.org if org is None else org, rec, act, out, ip, auth, pur, sid,
                        rr, bg, tag))

    def open_session(self, u, d, t, ip, auth, tag=0, purpose=None, typo=True, record=True):
        sid = self.new_sid()
        pur = P[ROLES[u.role].purpose] if purpose is None else purpose
        ctx = (sid, ip, auth, pur)
        if typo and self.rng.random() < 0.03:
            self.emit(t - self.rng.randint(10, 60), u, LOGIN, out=FAILURE, ctx=ctx, tag=tag)
        if typo and self.rng.random() < 0.002:     # forgot the password this morning
            for k in range(self.rng.randint(3, 6)):
                self.emit(t - 300 + k * 40, u, LOGIN, out=FAILURE, ctx=ctx, tag=tag)
        self.emit(t, u, LOGIN, ctx=ctx, tag=tag)
        return ctx

    def task(self, u: User, d: int, t: int, ctx, rec=None, tag=0, spec=None, views=None):
        r = self.rng
        spec = spec or ROLES[u.role]
        if rec is None:
            rec = self.pick(u, d)
            if rec < 0:
                return t
        if r.random() < spec.ps:
            self.emit(t, u, SEARCH, ctx=ctx, rr=r.choice([1, 1, 1, 2, 2, 3, 4, 6, 9]), tag=tag)
            t += r.randint(5, 45)
            if r.random() < 0.08:
                return t
        nv = views if views is not None else 1 + (r.random() < 0.35) + (r.random() < 0.1)
        bg = 0
        if self.shielded[rec] and u.role in EMERGENCY_ROLES and not tag and \
                not self.involved(rec, u.org, d):
            # emergency care of a shielded child: the override is recorded with its purpose
            bg = 1
            ctx = (ctx[0], ctx[1], ctx[2], P["emergency_care"])
            self.add_odd(u, "break_glass_emergency")
        for _ in range(nv):
            out = DENIED if r.random() < 0.004 else OK
            self.emit(t, u, VIEW, rec, out=out, ctx=ctx, tag=tag, bg=bg)
            t += r.randint(15, 300)
        if r.random() < spec.pu:
            t += r.randint(60, 900)
            self.emit(t, u, UPDATE, rec, ctx=ctx, tag=tag)
        if r.random() < spec.pc:
            t += r.randint(30, 300)
            self.emit(t, u, CREATE, rec, ctx=ctx, tag=tag)
        if r.random() < spec.pp:
            t += r.randint(10, 120)
            self.emit(t, u, PRINT, rec, ctx=ctx, tag=tag)
        if spec.admin and r.random() < 0.003:
            self.emit(t + 30, u, DELETE, rec, ctx=ctx, tag=tag)
        return t

    def day_factor(self, d):
        wd = self.weekday(d)
        return [1.12, 1.05, 1.0, 0.98, 0.85, 0.5, 0.5][wd] * self.rng.gammavariate(8, 1 / 8)

    def work_block(self, u: User, d: int, t0: int, t1: int, remote: bool, ip=None, auth=None,
                   record=True):
        r = self.rng
        ip = ip or self.ip_for(u, remote)
        auth = auth or self.auth_for(u, remote)
        n = int(self.np.poisson(max(0.0, u.lam * u.busy * (t1 - t0) / (7.5 * HOUR)
                                    * self.day_factor(d) * self.ramp(u, d))))
        if t1 - t0 > 5 * HOUR and r.random() < 0.5:
            mid = t0 + int((t1 - t0) * r.uniform(0.4, 0.6))
            segs = [(t0, mid - 15 * MIN), (mid + r.randint(20, 50) * MIN, t1)]
        else:
            segs = [(t0, t1)]
        for k, (a, b) in enumerate(segs):
            ctx = self.open_session(u, d, a, ip, auth)
            share = n // len(segs) + (1 if k < n % len(segs) else 0)
            times = sorted(r.randint(a + 60, max(a + 61, b - 120)) for _ in range(share))
            last = a
            for t in times:
                last = max(last, self.task(u, d, max(t, last + 5), ctx))
            end = max(b, last + r.randint(30, 600))
            if r.random() < 0.8:
                self.emit(end, u, LOGOUT, ctx=ctx)
            if record:
                self.sess.setdefault((u.i, d), []).append((ctx, a, end, remote))
            # now and then a second machine on the same network at the same time
            if r.random() < 0.01 and not remote and record:
                c2 = self.open_session(u, d, a + r.randint(600, 3600), ip[:ip.rfind(".") + 1]
                                       + str(r.randint(10, 250)), auth, typo=False)
                self.task(u, d, a + r.randint(3700, 7000), c2)

    def ramp(self, u: User, d: int):
        if u.kind in ("new_starter", "returner") and d - u.active_from < 7:
            return 0.5
        return 1.0

    def ordinary(self):
        for u in self.users:
            if ROLES[u.role].shift == "none":
                continue
            for d in range(self.D):
                for (t0, t1, remote) in self.shifts(u, d):
                    self.work_block(u, d, t0, t1, remote)

    # ---- legitimate but odd work ---------------------------------------------------------
    def legit_odd(self):
        r, D, J0 = self.rng, self.D, self.J0
        for u in self.users:
            if u.role == "edt_social_worker":
                self.add_odd(u, "night_duty")
            elif u.role in ("mash_practitioner", "mash_police_officer"):
                self.add_odd(u, "mash")
            elif u.role == "analyst":
                self.add_odd(u, "national_analyst")
            elif u.role in ("data_officer", "partner_data_manager"):
                self.add_odd(u, "statutory_exporter")
            elif u.role == "ward_nurse" or (u.role == "ppu_officer" and u.offset % 10 >= 7):
                self.add_odd(u, "shift_worker")
        for o in self.orgs:
            if o.type == "school" and any(d in self.school_hol for d in range(J0, D)):
                self.odd.append((-1, o.i, "school_holiday"))
        # weekly statutory exports (Monday mornings) and the national extract
        for u in self.users:
            if u.role not in ("data_officer", "partner_data_manager") or u.kind != "statutory_exporter":
                continue
            for d in range(D):
                if self.weekday(d) != 0 or not (u.active_from <= d <= u.active_to):
                    continue
                dd = d if d not in self.bank else d + 1
                t = dd * DAY + int(r.uniform(7.0, 8.5) * HOUR)
                ctx = self.open_session(u, dd, t, f"{self.orgs[u.org].net}{u.host}",
                                        self.auth_for(u, False), purpose=P["statutory_return"])
                if u.role == "data_officer":
                    recs = self.org_active(u.org, dd)
                else:
                    recs = [r.randrange(self.C) for _ in range(r.randint(300, 420))]
                t += 40
                self.emit(t, u, SEARCH, ctx=ctx, rr=len(recs))
                for c in recs:
                    t += r.randint(1, 4)
                    self.emit(t, u, EXPORT, c, ctx=ctx)
                self.emit(t + 120, u, LOGOUT, ctx=ctx)
                self.sess.setdefault((u.i, dd), []).append((ctx, t - 60, t + 120, False))
        nb = self.cell.bursts
        # inspection bursts: an inspector reads one LA's casework hard for four or five days
        insp = [u for u in self.users if u.role == "inspector" and u.kind is None and
                u.special is None]
        r.shuffle(insp)
        las = self.by_type["local_authority"][:]
        r.shuffle(las)
        for k, u in enumerate(insp[:nb]):
            la = las[k % len(las)]
            d0 = r.randint(J0 + 1, D - 8)
            days = [d for d in range(d0, d0 + 7) if self.workday(d)][:r.randint(4, 5)]
            for d in days:
                # the inspection is the day's work: it replaces the ordinary day (tag -1 keeps
                # these events when the ordinary ones of the day are dropped)
                self.drop_days.add((u.i, d))
                t = d * DAY + int(r.uniform(8.5, 9.5) * HOUR)
                ctx = self.open_session(u, d, t, f"{self.orgs[u.org].vpn or self.orgs[u.org].net}"
                                        f"{r.randint(2, 250)}", self.auth_for(u, True),
                                        purpose=P["inspection"], tag=-1)
                recs = self.org_active(la, d)
                for c in r.sample(recs, min(len(recs), r.randint(30, 70))):
                    t += r.randint(120, 600)
                    self.task(u, d, t, ctx, rec=c, tag=-1)
                self.emit(t + 300, u, LOGOUT, ctx=ctx, tag=-1)
            self.add_odd(u, "inspection_burst")
        # an LA quality-assurance audit burst (bursty cell)
        if nb > 1:
            for u in [u for u in self.users if u.role == "qa_auditor" and u.kind is None][:nb - 1]:
                d0 = r.randint(J0 + 1, D - 8)
                for d in [d for d in range(d0, d0 + 7) if self.workday(d)][:4]:
                    self.drop_days.add((u.i, d))
                    t = d * DAY + int(r.uniform(8.5, 9.5) * HOUR)
                    ctx = self.open_session(u, d, t, f"{self.orgs[u.org].net}{u.host}",
                                            self.auth_for(u, False), purpose=P["inspection"],
                                            tag=-1)
                    recs = self.org_active(u.org, d)
                    for c in r.sample(recs, min(len(recs), r.randint(35, 60))):
                        t += r.randint(120, 500)
                        self.task(u, d, t, ctx, rec=c, tag=-1)
                    self.emit(t + 200, u, LOGOUT, ctx=ctx, tag=-1)
                self.add_odd(u, "inspection_burst")
        # census / annual returns: a school exports its roll, an LA its children-in-need return
        dm = [u for u in self.users if u.role == "school_data_manager" and u.kind is None
              and u.special is None]
        r.shuffle(dm)
        for u in dm[:nb]:
            d = r.choice([d for d in range(J0, D) if self.workday(d) and d not in self.school_hol])
            t = d * DAY + int(r.uniform(9, 14) * HOUR)
            ctx = self.open_session(u, d, t, f"{self.orgs[u.org].net}{u.host}",
                                    self.auth_for(u, False), purpose=P["statutory_return"])
            recs = self.pupils[u.org]
            self.emit(t + 30, u, SEARCH, ctx=ctx, rr=len(recs))
            t += 60
            for c in recs:
                t += r.randint(1, 3)
                self.emit(t, u, EXPORT, c, ctx=ctx)
            self.emit(t + 60, u, LOGOUT, ctx=ctx)
            self.add_odd(u, "census_return")
        if nb > 1:
            for u in [u for u in self.users if u.role == "data_officer"][:nb - 1]:
                d = r.choice([d for d in range(J0, D) if self.workday(d) and self.weekday(d) >= 2])
                t = d * DAY + int(r.uniform(10, 14) * HOUR)
                ctx = self.open_session(u, d, t, f"{self.orgs[u.org].net}{u.host}",
                                        self.auth_for(u, False), purpose=P["statutory_return"])
                recs = sorted({self.inv[k][0] for k in self.la_cases if self.inv[k][1] == u.org
                               and self.inv[k][4] >= -200})
                self.emit(t + 30, u, SEARCH, ctx=ctx, rr=len(recs))
                t += 60
                for c in recs:
                    t += r.randint(1, 3)
                    self.emit(t, u, EXPORT, c, ctx=ctx)
                self.emit(t + 60, u, LOGOUT, ctx=ctx)
                self.odd.append((u.i, u.org, "census_return"))
            # duty-rota weeks: social workers on the front door read new referrals in the area
            sws = [u for u in self.users if u.role == "social_worker" and u.kind is None
                   and u.special is None]
            r.shuffle(sws)
            for u in sws[:2 + 2 * nb]:
                d0 = r.randint(J0, D - 7)
                d0 -= self.weekday(d0)
                o = self.orgs[u.org]
                for d in range(max(d0, J0), min(d0 + 5, D)):
                    for ctx, a, b, _ in self.sess.get((u.i, d), []):
                        for _ in range(r.randint(8, 18)):
                            c = self.area_child([o.area])
                            if c in u.fam_recs or (self.shielded[c] and
                                                   not self.involved(c, u.org, d)):
                                continue
                            self.task(u, d, r.randint(a + 60, max(a + 61, b - 60)), ctx, rec=c)
                self.add_odd(u, "duty_rota")
        # own family, explained: a user works on a child of their own family their body serves
        cands = []
        for u in self.users:
            if u.kind or u.special or not u.fam_recs:
                continue
            for c in u.fam_recs:
                if self.involved(c, u.org, J0) and self.orgs[u.org].type in ("school",
                                                                              "gp_practice"):
                    cands.append((u, c))
        r.shuffle(cands)
        for u, c in cands[:2]:
            d = r.choice([d for d in range(J0, D) if self.sess.get((u.i, d))] or [J0])
            if not self.sess.get((u.i, d)):
                continue
            ctx, a, b, _ = r.choice(self.sess[(u.i, d)])
            self.task(u, d, r.randint(a, max(a + 1, b - 600)), ctx, rec=c,
                      spec=Role(0, "office", "", ps=0.5, pu=0.8))
            self.add_odd(u, "family_explained")
            self.family_explained.append((u, c, d))
        # coincidentally popular children (strategy meetings): many involved readers
        for _ in range(self.cell.popular):
            c = self.la_kids[r.randrange(len(self.la_kids))]
            orgs = {self.inv[k][1] for k in self.inv_by_rec[c]}
            readers = [u for u in self.users if u.org in orgs and ROLES[u.role].shift != "none"
                       and u.kind is None and u.special is None and u.active_from <= J0]
            r.shuffle(readers)
            d0 = r.randint(J0, D - 5)
            for u in readers[:r.randint(12, 25)]:
                days = [d for d in range(d0, d0 + 4) if self.sess.get((u.i, d))]
                for d in days[:2]:
                    ctx, a, b, _ = r.choice(self.sess[(u.i, d)])
                    self.task(u, d, r.randint(a, max(a + 1, b - 600)), ctx, rec=c)
                if days:
                    self.add_odd(u, "popular_record_reader")

    # ---- misuse ----------------------------------------------------------------------------
    def strength(self):
        w = [0.5, 0.4, 0.1] if self.cell.quiet else [0.3, 0.4, 0.3]
        return self.rng.choices(["weak", "medium", "strong"], w)[0]

    def n_cases(self):
        k = self.rng.choice([2, 3])
        return max(1, round(k * self.args.users / 700))

    def free_users(self, pred):
        r = self.rng
        cand = [u for u in self.users if u.special is None and u.kind is None
                and ROLES[u.role].shift != "none" and pred(u)]
        r.shuffle(cand)
        return cand

    def claim(self, u, case):
        u.special = case

    def new_case(self, cat, u, strength, placement, recs=(), org=None):
        c = Case(f"M{len(self.cases) + 1:03d}", cat, u.i if u is not None else -1,
                 u.org if u is not None else org, strength, placement, list(recs))
        self.cases.append(c)
        if u is not None:
            self.claim(u, c)
        return c

    def ev_m(self, case: Case, t, u, act, rec=-1, out=OK, ctx=None, rr=-1, bg=0):
        self.emit(t, u, act, rec, out, ctx, rr, bg, tag=int(case.cid[1:]))
        case.events += 1
        case.t0, case.t1 = min(case.t0, t), max(case.t1, t)
        self.sid_last[ctx[0]] = max(self.sid_last.get(ctx[0], t), t)

    def retag(self, case: Case, k0: int):
        """Mark the events appended since index k0 as the case's."""
        tag = int(case.cid[1:])
        for k in range(k0, len(self.ev)):
            x = self.ev[k]
            self.ev[k] = x[:12] + (tag,)
            case.events += 1
            case.t0, case.t1 = min(case.t0, x[0]), max(case.t1, x[0])
            if x[3] >= 0:
                case.recs.append(x[3])

    def apply_drops(self):
        """Remove the ordinary work of user-days that misuse replaced."""
        if self.drop_days:
            dd = self.drop_days
            self.ev = [x for x in self.ev if x[12] or (x[1], x[0] // DAY) not in dd]

    def close_pending(self):
        """Log out of the sessions misuse opened, after the last thing done in each."""
        for case, u, ctx in self.pending:
            self.ev_m(case, self.sid_last[ctx[0]] + self.rng.randint(30, 600), u, LOGOUT, ctx=ctx)
        self.pending = []

    def hidden_slots(self, u, d_lo, d_hi, n):
        """n (day, ctx, t) inside the user's own sessions between days d_lo..d_hi."""
        r = self.rng
        days = [d for d in range(d_lo, d_hi + 1) if self.sess.get((u.i, d))]
        out = []
        if not days:
            return out
        for _ in range(n):
            d = r.choice(days)
            ctx, a, b, _ = r.choice(self.sess[(u.i, d)])
            out.append((d, ctx, r.randint(a + 60, max(a + 61, b - 300))))
        return sorted(out, key=lambda x: x[2])

    def own_session(self, case, u, d, hour, remote=True, ip=None, auth=None):
        t = d * DAY + int(hour * HOUR)
        ip = ip or (self.ip_for(u, True) if remote else f"{self.orgs[u.org].net}{u.host}")
        auth = auth or self.auth_for(u, remote)
        sid = self.new_sid()
        ctx = (sid, ip, auth, P[ROLES[u.role].purpose])
        self.ev_m(case, t, u, LOGIN, ctx=ctx)
        return ctx, t

    def misuse_read(self, case, u, d, t, ctx, c, search=True, views=1, act=VIEW):
        r = self.rng
        if search and r.random() < 0.7:
            self.ev_m(case, t, u, SEARCH, ctx=ctx, rr=r.choice([1, 1, 2, 3, 5]))
            t += r.randint(5, 40)
        for _ in range(views):
            self.ev_m(case, t, u, act, c, ctx=ctx)
            t += r.randint(10, 200)
        return t

    def cover(self, u, d, ctx, t, n):
        """Ordinary work around misuse (quiet cell): more of the user's own caseload."""
        for _ in range(n):
            t = self.task(u, d, t + self.rng.randint(60, 600), ctx)
        return t

    def place(self, case, u, slots_needed, d_lo, d_hi, odd_hours=False):
        """Yield (d, ctx, t) to put misuse at: inside own sessions or in sessions of its own."""
        r = self.rng
        hidden = self.cell.quiet or (not odd_hours and r.random() < 0.5)
        case.placement = "hidden" if hidden else "own_session"
        if hidden:
            slots = self.hidden_slots(u, d_lo, d_hi, slots_needed)
            if slots:
                for d, ctx, t in slots:
                    if self.cell.quiet:
                        t = self.cover(u, d, ctx, t, r.randint(1, 3))
                    yield d, ctx, t
                return
            case.placement = "own_session"
        days = sorted(r.sample(range(d_lo, d_hi + 1), min(d_hi - d_lo + 1,
                                                           max(1, slots_needed // 3 + 1))))
        per = {}
        for k in range(slots_needed):
            per.setdefault(days[k % len(days)], 0)
            per[days[k % len(days)]] += 1
        for d, k in sorted(per.items()):
            if odd_hours:
                hour = r.uniform(21.5, 26.5)
            else:
                hour = r.uniform(9, 16.5) if r.random() < 0.6 else r.uniform(18.5, 21.5)
            ctx, t = self.own_session(case, u, d, hour, remote=r.random() < 0.7)
            self.pending.append((case, u, ctx))
            for _ in range(k):
                t += r.randint(60, 900)
                yield d, ctx, t

    def window(self, span):
        d0 = self.rng.randint(self.J0 if self.rng.random() < 0.85 else self.J0 - 10,
                              self.D - span - 1)
        return d0, d0 + span

    def unexplained(self, u, d, areas=None, n=1, exclude=()):
        """n children with no (true) involvement with u's body, from areas (default own)."""
        o = self.orgs[u.org]
        areas = areas if areas is not None else (o.covers or [0])
        out = set()
        tries = 0
        while len(out) < n and tries < n * 50:
            tries += 1
            c = self.area_child(areas)
            if c in exclude or c in u.fam_recs or self.shielded[c]:
                continue
            if any(self.inv[k][1] == u.org for k in self.inv_by_rec.get(c, ())):
                continue
            out.add(c)
        return list(out)

    def inject(self):
        r, J0, D = self.rng, self.J0, self.D
        NS = {"weak": 0, "medium": 1, "strong": 2}
        q = self.cell.quiet
        def ordinary(u): return u.kind is None and u.org not in self.by_type["national_partner"]
        def caseworker(u): return u.role in ("social_worker", "early_help_worker", "ppu_officer",
                                          "health_visitor", "school_nurse")

        # family lookup (the account's family key was set in plan_accounts)
        for u, fam in self.plan_family:
            s = self.strength()
            recs = self.fam_members[fam][:r.randint(1, 3)]
            case = self.new_case("family_lookup", u, s, "")
            d0, d1 = self.window(r.randint(3, 14))
            n = [1, 3, 6][NS[s]]
            for d, ctx, t in self.place(case, u, n, d0, d1, odd_hours=r.random() < 0.25):
                for c in recs if s != "weak" else recs[:1]:
                    t = self.misuse_read(case, u, d, t, ctx, c, views=r.randint(1, 2))
                    if c not in case.recs:
                        case.recs.append(c)
                if s == "strong" and r.random() < 0.3:
                    self.ev_m(case, t + 20, u, PRINT, recs[0], ctx=ctx)
            case.recs = [c for c in case.recs]

        # VIP / child in the news: several unrelated readers within days of the story
        for _ in range(max(1, round(self.args.users / 700))):
            c = self.la_kids[r.randrange(len(self.la_kids))]
            involved_orgs = {self.inv[k][1] for k in self.inv_by_rec[c]}
            nd = r.randint(J0 + 1, D - 6)
            # legitimate readers get busier on the story too
            for u in [u for u in self.users if u.org in involved_orgs and u.special is None
                      and ROLES[u.role].shift != "none"][:12]:
                for d, ctx, t in self.hidden_slots(u, nd, nd + 3, r.randint(1, 2)):
                    self.task(u, d, t, ctx, rec=c)
            snoop = self.free_users(lambda u, io=involved_orgs, nd=nd: ordinary(u) and u.org not in io
                                    and u.active_from < nd)
            byorg = {}
            for u in snoop:
                byorg.setdefault(u.org, u)
            chosen = list(byorg.values())[:r.randint(3, 5)]
            for u in chosen:
                s = self.strength()
                case = self.new_case("vip_snooping", u, s, "", [c])
                n = [1, 2, 4][NS[s]]
                for d, ctx, t in self.place(case, u, n, nd, min(D - 1, nd + 4),
                                            odd_hours=r.random() < 0.2):
                    self.misuse_read(case, u, d, t, ctx, c, views=r.randint(1, 2))

        # bulk extraction / scraping
        for u in self.free_users(lambda u: ordinary(u) and u.role not in ("teacher",))[
                :self.n_cases()]:
            s = self.strength()
            case = self.new_case("bulk_extraction", u, s, "")
            n = [r.randint(100, 160), r.randint(300, 500), r.randint(1200, 2000)][NS[s]]
            ndays = [1, 2, 3][NS[s]] if not q else 3
            d0, d1 = self.window(ndays + 2)
            o = self.orgs[u.org]
            pool = [self.area_child(o.covers) for _ in range(n)]
            per = n // ndays
            days = sorted(r.sample(range(d0, d1 + 1), ndays))
            k = 0
            for d in days:
                slots = self.hidden_slots(u, d, d, 1) if (q or r.random() < 0.5) else []
                if slots:
                    _, ctx, t = slots[0]
                    case.placement = "hidden"
                else:
                    ctx, t = self.own_session(case, u, d, r.uniform(12, 22), remote=True)
                    self.pending.append((case, u, ctx))
                    case.placement = "own_session"
                gap = (3, 15) if s == "strong" else (8, 60)
                for i in range(per):
                    if i % 25 == 0:
                        self.ev_m(case, t, u, SEARCH, ctx=ctx, rr=r.randint(20, 60))
                        t += r.randint(2, 10)
                    c = pool[k % len(pool)]
                    k += 1
                    self.ev_m(case, t, u, VIEW, c, ctx=ctx)
                    t += r.randint(*gap)
                case.recs.extend(pool[k - per:k])

        # export / print spike of records the body does hold
        for u in self.free_users(lambda u: ordinary(u) and self.orgs[u.org].type != "school")[
                :self.n_cases()]:
            s = self.strength()
            case = self.new_case("export_spike", u, s, "")
            n = [r.randint(25, 40), r.randint(80, 150), r.randint(250, 400)][NS[s]]
            d0, d1 = self.window(3)
            recs = self.org_active(u.org, d0)
            recs = r.sample(recs, min(n, len(recs)))
            ndays = 1 if s != "weak" else 2
            slots = list(self.place(case, u, ndays, d0, d1, odd_hours=False))
            per = math.ceil(len(recs) / max(1, len(slots)))
            for j, (_d, ctx, t) in enumerate(slots):
                for c in recs[j * per:(j + 1) * per]:
                    t += r.randint(5, 40)
                    self.ev_m(case, t, u, PRINT if r.random() < 0.3 else EXPORT, c, ctx=ctx)
                    case.recs.append(c)

        # leaver's account still in use after the end date (set in plan_accounts)
        for u, e in self.plan_leaver:
            s = self.strength()
            case = self.new_case("leaver_account", u, s, "account")
            nd = [1, 2, 4][NS[s]]
            d_lo = max(J0, e + r.randint(2, 10))
            days = sorted(r.sample(range(d_lo, D), min(nd, D - d_lo)))
            o = self.orgs[u.org]
            for d in days:
                office = r.random() < 0.4    # a colleague on the leaver's login at the office
                ctx, t = self.own_session(case, u, d, r.uniform(9, 17) if office
                                          else r.uniform(8, 23), remote=not office,
                                          ip=None if office else u.home_ip)
                for _ in range(r.randint(2, [5, 10, 25][NS[s]])):
                    c = self.pool_pick(u, d) if r.random() < 0.6 else self.area_child(o.covers)
                    t = self.misuse_read(case, u, d, t + r.randint(30, 400), ctx, c)
                    case.recs.append(c)
                self.ev_m(case, t + 120, u, LOGOUT, ctx=ctx)

        # dormant account reactivated
        dormant = [u for u in self.users if ROLES[u.role].shift == "none" and u.special is None]
        r.shuffle(dormant)
        for u in dormant[:max(1, self.n_cases() - 1)]:
            s = self.strength()
            case = self.new_case("dormant_account", u, s, "account")
            o = self.orgs[u.org]
            days = sorted(r.sample(range(J0 + 2, D), [1, 2, 4][NS[s]]))
            for d in days:
                office = r.random() < 0.5
                ctx, t = self.own_session(case, u, d, r.uniform(9, 17) if office
                                          else r.uniform(7, 23), remote=not office,
                                          ip=None if office else u.home_ip,
                                          auth=PASSWORD if r.random() < 0.5 else MFA)
                for _ in range(r.randint(3, [8, 15, 40][NS[s]])):
                    c = self.area_child(o.covers)
                    t = self.misuse_read(case, u, d, t + r.randint(30, 300), ctx, c)
                    case.recs.append(c)
                self.ev_m(case, t + 100, u, LOGOUT, ctx=ctx)

        # shared account: the same login used at the same time from two networks
        for u in self.free_users(lambda u: ordinary(u) and u.shift == "office")[
                :self.n_cases()]:
            s = self.strength()
            case = self.new_case("shared_account", u, s, "own_session")
            d0, d1 = self.window(10)
            days = [d for d in range(d0, d1 + 1) if self.sess.get((u.i, d))]
            other = r.choice([o for o in self.orgs if o.i != u.org])
            ip2 = f"{other.net}{r.randint(10, 250)}" if r.random() < 0.5 else \
                self.rand_ip([86, 90, 92, 94, 109, 81])
            for d in days[:[2, 4, 7][NS[s]]]:
                ctx0, a, b, rem = self.sess[(u.i, d)][0]
                t = r.randint(a + 600, max(a + 601, b - 3600))
                sid = self.new_sid()
                ctx = (sid, ip2, self.auth_for(u, True), ctx0[3])
                self.ev_m(case, t, u, LOGIN, ctx=ctx)
                for _ in range(r.randint(3, 12)):
                    c = self.pool_pick(u, d)
                    t = self.misuse_read(case, u, d, t + r.randint(60, 500), ctx, c)
                    case.recs.append(c)
                self.ev_m(case, t + 60, u, LOGOUT, ctx=ctx)

        # shielded children with no relationship (some through break-glass)
        for u in self.free_users(ordinary)[:self.n_cases()]:
            s = self.strength()
            case = self.new_case("shielded_access", u, s, "")
            o = self.orgs[u.org]
            sh = [c for c in np.flatnonzero(self.shielded)
                  if not any(self.inv[k][1] == u.org for k in self.inv_by_rec.get(c, ()))]
            near = [c for c in sh if self.child_area[c] in o.covers] or sh
            recs = r.sample(near, min(len(near), [1, 2, 4][NS[s]]))
            bg = 1 if r.random() < 0.5 else 0
            d0, d1 = self.window(10)
            for _d, ctx, t in self.place(case, u, len(recs) * [1, 1, 2][NS[s]], d0, d1,
                                        odd_hours=r.random() < 0.2):
                c = recs[r.randrange(len(recs))]
                if bg:
                    ctx = (ctx[0], ctx[1], ctx[2], P["emergency_care"])
                self.ev_m(case, t, u, VIEW, int(c), ctx=ctx, bg=bg)
                if int(c) not in case.recs:
                    case.recs.append(int(c))
            case.note = "break_glass" if bg else ""

        # out-of-area browsing
        for u in self.free_users(lambda u: ordinary(u) and self.orgs[u.org].area >= 0)[
                :self.n_cases()]:
            s = self.strength()
            case = self.new_case("out_of_area", u, s, "")
            o = self.orgs[u.org]
            away = [a for a in range(self.A) if a not in o.covers] or \
                [a for a in range(self.A) if a != o.area]
            n = [r.randint(3, 5), r.randint(10, 16), r.randint(30, 45)][NS[s]]
            recs = self.unexplained(u, 0, areas=away, n=n)
            d0, d1 = self.window(r.randint(4, 12))
            for (d, ctx, t), c in zip(self.place(case, u, len(recs), d0, d1,
                                                 odd_hours=r.random() < 0.2), recs, strict=False):
                self.misuse_read(case, u, d, t, ctx, c, views=r.randint(1, 2))
                case.recs.append(c)

        # no-relationship browsing in the body's own area
        for u in self.free_users(lambda u: ordinary(u) and self.orgs[u.org].area >= 0)[
                :self.n_cases()]:
            s = self.strength()
            case = self.new_case("no_relationship", u, s, "")
            n = [r.randint(3, 5), r.randint(10, 16), r.randint(30, 45)][NS[s]]
            recs = self.unexplained(u, 0, n=n)
            d0, d1 = self.window(r.randint(4, 12))
            for (d, ctx, t), c in zip(self.place(case, u, len(recs), d0, d1), recs, strict=False):
                self.misuse_read(case, u, d, t, ctx, c, views=r.randint(1, 2))
                case.recs.append(c)

        # after-hours misuse by office staff with no duty role
        for u in self.free_users(lambda u: ordinary(u) and u.shift in ("office", "school")
                                 and u.p_late == 0 and u.p_weekend == 0)[:self.n_cases()]:
            s = self.strength()
            case = self.new_case("after_hours", u, s, "own_session")
            nights = [1, 3, 5][NS[s]]
            d0, d1 = self.window(10)
            for d in sorted(r.sample(range(d0, d1 + 1), nights)):
                ctx, t = self.own_session(case, u, d, r.uniform(22, 27), remote=True,
                                          ip=u.home_ip)
                for _ in range(r.randint(3, [6, 10, 15][NS[s]])):
                    c = self.pool_pick(u, d) if r.random() < 0.4 else \
                        (self.unexplained(u, d, n=1) or [self.pool_pick(u, d)])[0]
                    t = self.misuse_read(case, u, d, t + r.randint(30, 400), ctx, c)
                    case.recs.append(c)
                self.ev_m(case, t + 60, u, LOGOUT, ctx=ctx)

        # search fishing: many searches, few records opened
        for u in self.free_users(ordinary)[:self.n_cases()]:
            s = self.strength()
            case = self.new_case("search_fishing", u, s, "")
            n = [r.randint(30, 50), r.randint(90, 140), r.randint(250, 350)][NS[s]]
            d0, d1 = self.window(r.randint(2, 6))
            for _d, ctx, t in self.place(case, u, max(1, n // 15), d0, d1):
                for _ in range(15):
                    self.ev_m(case, t, u, SEARCH, ctx=ctx, rr=r.choice([0, 0, 1, 2, 3, 5, 8, 12]))
                    t += r.randint(8, 90)
                    if r.random() < 0.05:
                        c = self.area_child(self.orgs[u.org].covers or [0])
                        self.ev_m(case, t, u, VIEW, c, ctx=ctx)
                        case.recs.append(c)

        # credential stuffing / failed-login burst against an account
        for u in self.free_users(lambda u: ordinary(u))[:self.n_cases()]:
            s = self.strength()
            case = self.new_case("credential_stuffing", u, s, "own_session")
            d = r.randint(J0, D - 2)
            t = d * DAY + int(r.uniform(0, 24) * HOUR)
            ip = self.rand_ip([45, 103, 185, 197, 5])
            ctx = (self.new_sid(), ip, PASSWORD, 0)
            for _ in range([r.randint(15, 25), r.randint(50, 80), r.randint(150, 250)][NS[s]]):
                self.ev_m(case, t, u, LOGIN, out=FAILURE, ctx=ctx)
                t += r.randint(1, 25)
            if r.random() < 0.5:      # the attacker gets in
                case.note = "success"
                self.ev_m(case, t + 5, u, LOGIN, ctx=ctx)
                for _ in range(r.randint(4, 20)):
                    c = self.area_child(self.orgs[u.org].covers or [0])
                    t = self.misuse_read(case, u, d, t + r.randint(10, 90), ctx, c)
                    case.recs.append(c)

        # denied-access spike
        for u in self.free_users(ordinary)[:self.n_cases()]:
            s = self.strength()
            case = self.new_case("denied_spike", u, s, "")
            n = [r.randint(12, 18), r.randint(35, 50), r.randint(100, 140)][NS[s]]
            d0, d1 = self.window(r.randint(1, 4))
            for _d, ctx, t in self.place(case, u, max(1, n // 5), d0, d1):
                for _ in range(5):
                    c = r.randrange(self.C)
                    self.ev_m(case, t, u, VIEW, c, out=DENIED, ctx=ctx)
                    t += r.randint(10, 120)
                    case.recs.append(c)

        # lingering access after the involvement ended
        for u in self.free_users(lambda u: ordinary(u) and caseworker(u)):
            if len([c for c in self.cases if c.category == "lingering_access"]) >= self.n_cases():
                break
            closed = [c for (c, s_, e, e_true) in u.cases if e_true < J0 - 21 and
                      self.ended_before(c, u.org, J0, 21)]
            if not closed:
                continue
            s = self.strength()
            case = self.new_case("lingering_access", u, s, "")
            recs = r.sample(closed, min(len(closed), [1, 3, 6][NS[s]]))
            d0, d1 = self.window(r.randint(5, 14))
            for (d, ctx, t), c in zip(self.place(case, u, len(recs) * 2, d0, d1),
                                      recs * 2, strict=False):
                self.misuse_read(case, u, d, t, ctx, c, views=1)
                if c not in case.recs:
                    case.recs.append(c)

        # password-only sign-in from outside in an MFA organisation
        if self.cell.optional_columns:
            for u in self.free_users(lambda u: ordinary(u) and u.mfa and u.shift == "office" and
                                     self.orgs[u.org].auth == MFA)[:self.n_cases()]:
                s = self.strength()
                case = self.new_case("weak_auth", u, s, "own_session")
                d0, d1 = self.window(12)
                days = [d for d in range(d0, d1 + 1) if self.sess.get((u.i, d))]
                ip = self.rand_ip([86, 90, 92, 94, 2, 31])
                for d in days[:[1, 3, 6][NS[s]]]:
                    # the whole working day from outside with a password only: the ordinary
                    # day is replaced, so nothing else runs alongside it
                    self.drop_days.add((u.i, d))
                    t0 = d * DAY + int((u.start_h + r.gauss(0, 0.3)) * HOUR)
                    k0 = len(self.ev)
                    self.work_block(u, d, t0, t0 + int(u.len_h * HOUR), True, ip=ip,
                                    auth=PASSWORD, record=False)
                    self.retag(case, k0)

        # peer outlier: reads the body's children, but another team's, unlike colleagues
        for u in self.free_users(lambda u: ordinary(u) and u.role in ("social_worker",
                                                                       "ppu_officer")):
            if len([c for c in self.cases if c.category == "peer_outlier"]) >= self.n_cases():
                break
            others = [k for k in self.team_cases if k[0] == u.org and k != u.team and k[1] < 900]
            if not others:
                continue
            s = self.strength()
            case = self.new_case("peer_outlier", u, s, "")
            other = [c for k in others for (c, s_, e) in self.team_cases[k] if s_ <= J0 <= e]
            n = [r.randint(8, 12), r.randint(25, 35), r.randint(60, 90)][NS[s]]
            recs = r.sample(other, min(n, len(other)))
            d0, d1 = self.window(r.randint(8, 14))
            for (d, ctx, t), c in zip(self.place(case, u, len(recs), d0, d1), recs, strict=False):
                self.misuse_read(case, u, d, t, ctx, c, views=r.randint(1, 2))
                case.recs.append(c)

    def strip_after(self, u, e):
        """Drop a user's ordinary events after day e (the account's owner has left)."""
        lim = (e + 1) * DAY
        self.ev = [x for x in self.ev if not (x[1] == u.i and x[0] >= lim and x[12] == 0)]
        for key in [k for k in self.sess if k[0] == u.i and k[1] > e]:
            del self.sess[key]

    def log_gaps(self):
        r = self.rng
        busy = {c.org for c in self.cases}
        cand = [o for o in self.orgs if o.type in ("local_authority", "gp_practice", "nhs_trust",
                                                   "police_force") and o.i not in busy]
        r.shuffle(cand)
        for o in cand[:max(1, round(self.args.orgs / 40))]:
            s = self.strength()
            n = [3, 5, 9][["weak", "medium", "strong"].index(s)]
            d0 = r.randint(self.J0 + 2, self.D - n - 2)
            case = Case(f"M{len(self.cases) + 1:03d}", "log_gap", -1, o.i, s, "org", [])
            case.t0, case.t1 = d0 * DAY, (d0 + n) * DAY - 1
            lo, hi = case.t0, case.t1
            before = len(self.ev)
            self.ev = [x for x in self.ev if not (x[2] == o.i and lo <= x[0] <= hi)]
            case.events = before - len(self.ev)
            case.note = f"{n} days silent"
            self.cases.append(case)

    # ---- output ----------------------------------------------------------------------------
    def drop_involvements(self):
        lo, hi = self.cell.drop_involvements
        self.inv_written = [True] * len(self.inv)
        if hi <= 0:
            return
        frac = self.rng.uniform(lo, hi)
        for k in range(len(self.inv)):
            if self.rng.random() < frac:
                self.inv_written[k] = False
        self.dropped_fraction = frac

    def offsets(self, t: np.ndarray) -> np.ndarray:
        hours = np.unique(t // HOUR)
        off = {}
        for h in hours:
            dt = datetime.combine(self.start, datetime.min.time()) + timedelta(hours=int(h))
            off[h] = int(dt.replace(tzinfo=LONDON).utcoffset().total_seconds())
        return np.vectorize(off.get, otypes=[np.int64])(t // HOUR)

    def expected(self, case: Case) -> list[str]:
        exp = list(PRIMARY[case.category])
        opt = self.cell.optional_columns
        if case.category == "log_gap":
            return exp
        if not opt:
            exp = [x for x in exp if x not in ("family_lookup", "weak_auth")]
        o = self.orgs[case.org]
        day = max(0, min(self.D - 1, case.t0 // DAY)) if case.t1 >= 0 else self.J0
        recs = [c for c in case.recs if c >= 0]
        if recs and case.category not in ("denied_spike", "export_spike", "peer_outlier",
                                          "shared_account", "weak_auth"):
            unexp = [c for c in recs if not self.involved(c, case.org, day, written=True)]
            if len(unexp) / len(recs) >= 0.5 and "no_relationship" not in exp:
                exp.append("no_relationship")
            if o.area >= 0 and sum(self.child_area[c] not in o.covers for c in recs) \
                    / len(recs) >= 0.5 and "out_of_area" not in exp:
                exp.append("out_of_area")
            if any(self.shielded[c] for c in recs) and "shielded_access" not in exp:
                exp.append("shielded_access")
        if case.category == "credential_stuffing" and case.note == "success" and opt and \
                o.auth == MFA:
            exp.append("weak_auth")
        u = self.users[case.user]
        if "after_hours" not in exp and u.shift in ("office", "school") and \
                self.mostly_night(case):
            exp.append("after_hours")
        if case.category == "export_spike" and len(recs) >= 150:
            exp.append("bulk_access")
        return exp

    def mostly_night(self, case):
        ts = self.case_ts.get(int(case.cid[1:]), [])
        if not len(ts):
            return False
        night = sum(1 for t in ts if not (7 * HOUR <= t % DAY < 19 * HOUR)
                    or self.weekday(int(t // DAY)) >= 5)
        return night / len(ts) >= 0.5

    def write(self, out: Path):
        opt = self.cell.optional_columns
        (out / "events").mkdir(parents=True, exist_ok=True)
        (out / "truth").mkdir(parents=True, exist_ok=True)
        # organisations
        pd.DataFrame([{"org_id": o.org_id, "name": o.name, "type": o.type,
                       "area": self.areas[o.area] if o.area >= 0 else "national",
                       "timezone": "Europe/London", "working_hours": o.hours}
                      for o in self.orgs]).to_csv(out / "organisations.csv", index=False)
        rows = []
        for u in self.users:
            row = {"user_id": u.uid, "org_id": self.orgs[u.org].org_id, "role": u.role,
                   "start_date": u.start.isoformat(),
                   "end_date": u.end.isoformat() if u.end else ""}
            if opt:
                row["family_key"] = u.fam
            row["mfa_enrolled"] = "true" if u.mfa else "false"
            rows.append(row)
        pd.DataFrame(rows).to_csv(out / "users.csv", index=False)
        subj = pd.DataFrame({"record_id": self.rid,
                             "home_area": [self.areas[a] for a in self.child_area],
                             "shielded": np.where(self.shielded, "true", "false")})
        if opt:
            subj["family_key"] = [self.fam_key[f] for f in self.child_fam]
        subj["birth_year"] = self.child_by
        subj.to_csv(out / "subjects.csv", index=False)
        rows = []
        for k, (c, o, role, s, e) in enumerate(self.inv):
            if not self.inv_written[k]:
                continue
            rows.append((self.rid[c], self.orgs[o].org_id, role,
                         (self.start + timedelta(s)).isoformat(),
                         (self.start + timedelta(e)).isoformat() if e < OPEN else ""))
        pd.DataFrame(rows, columns=["record_id", "org_id", "role", "start_date", "end_date"]) \
            .to_csv(out / "involvements.csv", index=False)
        # events
        ev = self.ev
        cols = list(zip(*ev, strict=True))
        t = np.array(cols[0], dtype=np.int64)
        order = np.argsort(t, kind="stable")
        t = t[order]
        def pick(i, dt=None): return np.array(cols[i], dtype=dt)[order]
        uidx, oidx, rec, act, outc = pick(1, np.int64), pick(2, np.int64), pick(3, np.int64), \
            pick(4, np.int64), pick(5, np.int64)
        ip, auth, pur, sid = pick(6, object), pick(7, np.int64), pick(8, np.int64), pick(9, object)
        rr, bg, tag = pick(10, np.int64), pick(11, np.int64), pick(12, np.int64)
        off = self.offsets(t)
        for k in np.unique(tag[tag > 0]):
            self.case_ts[int(k)] = t[tag == k]
        base = np.datetime64(self.start.isoformat() + "T00:00:00")
        local = base + t.astype("timedelta64[s]")
        utc = local - off.astype("timedelta64[s]")
        z_org = np.array([o.stamp == "Z" for o in self.orgs])[oidx]
        loc_s = np.datetime_as_string(local, unit="s").astype(object)
        utc_s = np.datetime_as_string(utc, unit="s").astype(object)
        suffix = np.where(off == 3600, "+01:00", "+00:00").astype(object)
        stamp = np.where(z_org, utc_s + "Z", loc_s + suffix)
        prefix = self.hexkey("events", n=6)
        event_id = np.array([f"{prefix}-{i:07d}" for i in range(len(t))], dtype=object)
        rid = np.array(self.rid + [""], dtype=object)
        df = pd.DataFrame({
            "event_id": event_id,
            "timestamp": stamp,
            "user_id": np.array([u.uid for u in self.users], dtype=object)[uidx],
            "org_id": np.array([o.org_id for o in self.orgs], dtype=object)[oidx],
            "record_id": rid[np.where(rec >= 0, rec, len(self.rid))],
            "action": np.array(ACTIONS, dtype=object)[act],
            "outcome": np.array(OUTCOMES, dtype=object)[outc],
            "source_ip": ip,
        })
        if opt:
            df["auth_method"] = np.array(AUTHS, dtype=object)[auth]
            df["purpose"] = np.array(PURPOSES, dtype=object)[pur]
            df["session_id"] = sid
        df["records_returned"] = np.where(rr >= 0, rr.astype(str), "").astype(object)
        df["break_glass"] = np.where(bg == 1, "true", "false")
        week = t // (7 * DAY)
        for w in np.unique(week):
            m = week == w
            name = (self.start + timedelta(int(w) * 7)).isoformat()
            df[m].to_csv(out / "events" / f"audit-{name}.csv", index=False)
        # truth
        uid = {u.i: u.uid for u in self.users}

        def iso(ts):
            off_ = self.offsets(np.array([ts]))[0]
            dt = datetime.combine(self.start, datetime.min.time()) + timedelta(seconds=int(ts - off_))
            return dt.strftime("%Y-%m-%dT%H:%M:%SZ")

        mrows = []
        for c in self.cases:
            if c.category != "log_gap" and c.events == 0:
                continue
            mrows.append({
                "case_id": c.cid, "category": c.category,
                "user_id": uid.get(c.user, ""), "org_id": self.orgs[c.org].org_id,
                "start": iso(c.t0), "end": iso(c.t1),
                "record_ids": ";".join(dict.fromkeys(self.rid[x] for x in c.recs if x >= 0)),
                "expected_detectors": ";".join(self.expected(c)),
                "strength": c.strength, "placement": c.placement, "events": c.events,
                "org_type": self.orgs[c.org].type,
                "role": self.users[c.user].role if c.user >= 0 else "", "note": c.note})
        pd.DataFrame(mrows, columns=["case_id", "category", "user_id", "org_id", "start", "end",
                                     "record_ids", "expected_detectors", "strength", "placement",
                                     "events", "org_type", "role", "note"]) \
            .to_csv(out / "truth" / "misuse.csv", index=False)
        for u, c, d in self.family_explained:
            if not self.involved(c, u.org, d, written=True):
                # the explaining involvement is one of those missing from involvements.csv
                self.odd = [(ui, oi, "family_explained_missing_involvement"
                             if (ui == u.i and kind == "family_explained") else kind)
                            for ui, oi, kind in self.odd]
        orows = [{"user_id": uid.get(ui, "") if ui >= 0 else "",
                  "org_id": self.orgs[oi].org_id, "kind": kind,
                  "role": self.users[ui].role if ui >= 0 else ""} for ui, oi, kind in self.odd]
        pd.DataFrame(orows, columns=["user_id", "org_id", "kind", "role"]).drop_duplicates() \
            .to_csv(out / "truth" / "legit_odd.csv", index=False)
        m = tag > 0
        pd.DataFrame({"event_id": event_id[m], "case_id": [f"M{x:03d}" for x in tag[m]]}) \
            .to_csv(out / "truth" / "misuse_events.csv", index=False)
        def day(d): return (self.start + timedelta(d)).isoformat()
        meta = {
            "generator": "benchmarks/holdout/world.py", "version": GENERATOR_VERSION,
            "seed": self.seed, "cell": self.cell.name, "cell_about": self.cell.about,
            "start": day(0), "end": day(self.D - 1), "weeks": self.args.weeks,
            "history": [day(0), day(self.J0 - 1)],
            "windows": [[day(self.J0), day(self.J0 + 13)], [day(self.J0 + 14), day(self.D - 1)]],
            "organisations": len(self.orgs), "users": len(self.users), "children": self.C,
            "involvements_true": len(self.inv), "involvements_written": int(sum(self.inv_written)),
            "events": int(len(t)), "misuse_events": int(m.sum()),
            "misuse_cases": pd.Series([r["category"] for r in mrows]).value_counts().to_dict(),
            "legit_odd": pd.Series([r["kind"] for r in orows]).value_counts().to_dict(),
            "areas": self.areas,
        }
        (out / "truth" / "world.json").write_text(json.dumps(meta, indent=2) + "\n")
        return meta

    def build(self):
        self.build_orgs()
        self.build_children()
        self.build_involvements()
        self.inv_short = [(c, s, e) for (c, o, _, s, e) in self.inv]
        self.org_inv = {o.i: [] for o in self.orgs}
        for k, (_c, o, role, _s, _e) in enumerate(self.inv):
            if role not in ("registered_gp", "school"):
                self.org_inv[o].append(k)
        allk = {}
        for k, (_c, o, *_rest) in enumerate(self.inv):
            allk.setdefault(o, []).append(k)
        for o in self.orgs:      # GP practices and schools: their whole list
            if not self.org_inv[o.i]:
                self.org_inv[o.i] = allk.get(o.i, [])
        self.upcoming_la = {}
        for k in self.la_cases:
            c, o, _, s, e = self.inv[k]
            if s >= 0:
                self.upcoming_la.setdefault(self.orgs[o].area, []).append((c, s))
        self.build_users()
        self.plan_accounts()
        self.allocate()
        self.ordinary()
        self.legit_odd()
        self.inject()
        self.close_pending()
        self.apply_drops()
        self.log_gaps()
        self.drop_involvements()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="cells:\n" + "\n".join(f"  {c.name:20s} {c.about}"
                                                               for c in CELLS.values()))
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--orgs", type=int, default=40)
    ap.add_argument("--users", type=int, default=700)
    ap.add_argument("--weeks", type=int, default=13)
    ap.add_argument("--children", type=int, default=0, help="default 3,500 per area")
    ap.add_argument("--start", default="2026-02-02", help="first day (a Monday is best)")
    ap.add_argument("--cell", default="base", choices=sorted(CELLS))
    ap.add_argument("--force", action="store_true", help="overwrite a non-empty OUT")
    args = ap.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()) and not args.force:
        ap.error(f"{args.out} is not empty (use --force)")
    if args.out.exists() and args.force:
        import shutil
        shutil.rmtree(args.out)
    t0 = time.time()
    w = World(args)
    w.build()
    meta = w.write(args.out)
    print(f"{args.out}: {meta['events']:,} events, {meta['users']} users, "
          f"{meta['organisations']} organisations, {meta['children']:,} children, "
          f"{sum(meta['misuse_cases'].values())} misuse cases, cell {args.cell}, seed "
          f"{args.seed} ({time.time() - t0:.1f}s)", file=sys.stderr)


if __name__ == "__main__":
    main()
