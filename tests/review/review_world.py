"""A small hand-made review world for the review tests, written as a dataset directory with one events
file per day (so scans can take it a slice at a time).

Fourteen organisations (councils, GP practices, schools, a trust, police, a national partner), four
staff each, 300 children, 70 days from Tuesday 1 September 2026. Planted:

- `SNOOPER` reads shielded child `SHIELDED` with no involvement on days 20, 35 and 65 (shielded_access);
- `CHILD` is read by twelve bodies, each with a stated purpose; one purpose names another child's id;
- `SELF_LOOKUP` reads a child of their own family, `COWORKER_READER` a child of a colleague's family.
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

START = date(2026, 9, 1)
DAYS = 70
ORGS = [
    ("LA1", "Northshire Council", "local_authority", "A"), ("LA2", "Southshire Council", "local_authority", "B"),
    ("GP1", "Elm Practice", "gp_practice", "A"), ("GP2", "Oak Practice", "gp_practice", "A"),
    ("GP3", "Ash Practice", "gp_practice", "B"), ("SCH1", "Hill School", "school", "A"),
    ("SCH2", "Vale School", "school", "A"), ("SCH3", "Brook School", "school", "B"),
    ("NHS1", "County NHS Trust", "nhs_trust", "A"), ("NHS2", "City NHS Trust", "nhs_trust", "B"),
    ("POL1", "Shire Police", "police_force", "A"), ("POL2", "City Police", "police_force", "B"),
    ("NP1", "National Partner", "national_partner", "national"), ("LA3", "Westshire Council", "local_authority", "A"),
]
ROLES = {"local_authority": "caseworker", "gp_practice": "gp", "school": "teacher", "nhs_trust": "nurse",
         "police_force": "officer", "national_partner": "analyst"}
CHILD = "C0007"
SIBLING = "C0008"
SHIELDED = "C0250"
SNOOPER = "GP2-u1"
SNOOP_DAYS = (20, 35, 65)
CHILD_READERS = ["LA1", "LA2", "GP1", "GP2", "GP3", "SCH1", "SCH2", "NHS1", "NHS2", "POL1", "POL2", "NP1"]
SELF_LOOKUP = "SCH1-u2"
COWORKER_READER = "LA1-u2"
COWORKER = "LA1-u3"


def day_of(n: int) -> date:
    return START + timedelta(days=n)


def make_world(root: Path, seed: int = 11) -> Path:
    """Write the dataset under `root` (events in root/days/events-DATE.csv); returns root."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    _write(root / "organisations.csv", ["org_id", "name", "type", "area"], ORGS)
    users = []
    for org, _, kind, _ in ORGS:
        for i in range(4):
            fam = {SELF_LOOKUP: "FAM-S", COWORKER: "FAM-C"}.get(f"{org}-u{i}", f"FAM-{org}-{i}")
            users.append((f"{org}-u{i}", org, ROLES[kind], "2025-01-01", "", fam))
    _write(root / "users.csv", ["user_id", "org_id", "role", "start_date", "end_date", "family_key"], users)
    subjects = []
    for n in range(300):
        rid = f"C{n:04d}"
        fam = {"C0100": "FAM-S", "C0101": "FAM-C"}.get(rid, f"KID-{n}")
        subjects.append((rid, "A" if n % 2 == 0 else "B", "true" if rid == SHIELDED else "false", fam))
    _write(root / "subjects.csv", ["record_id", "home_area", "shielded", "family_key"], subjects)
    # Caseloads: each organisation works with the children of its area (national partner: any).
    caseload: dict[str, list[str]] = {}
    for k, (org, _, _, area) in enumerate(ORGS):
        kids = [s[0] for s in subjects if (area == "national" or s[1] == area) and s[0] != SHIELDED
                and s[0] not in ("C0100", "C0101")]
        caseload[org] = kids[k % 7 :: 7][:40]
    inv = [(r, org, "", "2025-06-01", "") for org, recs in caseload.items() for r in recs]
    inv += [(CHILD, org, "", "2025-06-01", "") for org in CHILD_READERS[:8] if CHILD not in caseload[org]]
    inv += [("C0100", "SCH1", "", "2025-06-01", ""), ("C0101", "LA1", "", "2025-06-01", "")]
    _write(root / "involvements.csv", ["record_id", "org_id", "role", "start_date", "end_date"], inv)
    out = root / "days"
    out.mkdir(exist_ok=True)
    purposes = ["case_review", "referral", "health_check", "attendance", "safeguarding_enquiry"]
    for d in range(DAYS):
        day = day_of(d)
        rows: list[tuple[object, ...]] = []
        if day.weekday() < 5:
            for user, org, *_ in users:
                for _ in range(rng.randint(4, 8)):
                    ts = datetime.combine(day, time(8)) + timedelta(minutes=rng.randint(0, 9 * 60))
                    rows.append((ts, user, org, rng.choice(caseload[org]), "view", "success", rng.choice(purposes)))
        if d in SNOOP_DAYS:
            ts = datetime.combine(day, time(12, 5))
            rows += [(ts + timedelta(minutes=k), SNOOPER, "GP2", SHIELDED, "view", "success", "") for k in range(2)]
        if d == 12:  # twelve bodies read CHILD, each for a stated purpose, on weekdays 12..
            for k, org in enumerate(CHILD_READERS):
                ts = datetime.combine(day, time(9)) + timedelta(minutes=17 * k)
                action = "print" if org == "NHS1" else "export" if org == "POL1" else "view"
                purpose = "sibling of " + SIBLING if org == "LA2" else purposes[k % len(purposes)]
                rows.append((ts, f"{org}-u0", org, CHILD, action, "success", purpose))
            rows.append((datetime.combine(day, time(15)), "SCH3-u1", "SCH3", CHILD, "view", "denied", "attendance"))
        if d == 25:
            ts = datetime.combine(day, time(13))
            rows.append((ts, SELF_LOOKUP, "SCH1", "C0100", "view", "success", "attendance"))
            rows.append((ts + timedelta(minutes=3), COWORKER_READER, "LA1", "C0101", "view", "success", "case_review"))
        rows.sort(key=lambda r: (r[0], r[1]))
        _write(out / f"events-{day.isoformat()}.csv",
               ["event_id", "timestamp", "user_id", "org_id", "record_id", "action", "outcome", "purpose"],
               [(f"E{d:03d}-{i:05d}", r[0].isoformat() + "Z", *r[1:]) for i, r in enumerate(rows)])
    return root


def stage(world: Path, dest: Path, days: range) -> Path:
    """A dataset directory holding the reference files and the events of `days` only (for ingest)."""
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    for name in ("organisations.csv", "users.csv", "subjects.csv", "involvements.csv"):
        shutil.copy(world / name, dest / name)
    (dest / "events").mkdir(exist_ok=True)
    for d in days:
        shutil.copy(day_file(world, d), dest / "events" / day_file(world, d).name)
    return dest


def day_file(world: Path, d: int) -> Path:
    return world / "days" / f"events-{day_of(d).isoformat()}.csv"


def _write(path: Path, header: list[str], rows: list[tuple[object, ...]]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)

# The review tests' clock: verdicts and suppressions are timed from here.
T0 = datetime(2026, 10, 1, 9, 0)
