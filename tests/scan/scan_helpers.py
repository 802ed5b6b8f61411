"""Helpers for the scan tests: hand-made events and findings (a uniquely named module, not conftest)."""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

from audit_kit.models.findings import Finding, Severity, finding_key
from audit_kit.store.workspace import Workspace


def add_batch(ws: Workspace, batch_id: str, timestamps: list[str], ingested_at: str = "2026-10-20 06:00:00") -> None:
    """Store a batch of events (as ingest would) and its ingest_files row."""
    for i, ts in enumerate(timestamps):
        ws.con.execute(
            "INSERT INTO events (event_id, timestamp, local_time, user_id, org_id, record_id, action, outcome,"
            " source_file, source_row, ingested_at, batch_id) VALUES (?, ?, ?, 'u1', 'o1', 'r1', 'view',"
            " 'success', 'f.csv', ?, ?, ?)",
            [f"{batch_id}-{i}", ts, ts, i + 2, ingested_at, batch_id],
        )
    ws.con.execute(
        "INSERT INTO ingest_files VALUES (?, ?, 'events', ?, ?, ?, ?, 0, 0)",
        [f"sha-{batch_id}", f"{batch_id}.csv", batch_id, ingested_at, len(timestamps), len(timestamps)],
    )


def make_finding(n: int, severity: Severity = Severity.HIGH, detector: str = "volume_spike") -> Finding:
    """A contract finding with a stable id, as a detector would produce."""
    return Finding(
        finding_id=finding_key(detector, "o1", f"u{n}", "2026-10-20"),
        detector=detector,
        severity=severity,
        score=0.8,
        org_id="o1",
        user_id=f"u{n}",
        record_count=10 + n,
        first_seen=datetime(2026, 10, 20, 9, 0),
        last_seen=datetime(2026, 10, 20, 17, 0),
        summary=f"User u{n} viewed {10 + n} records, 5x their usual day.",
        evidence={"count": 10 + n, "baseline_p95": 2},
    )


# -- a small hand-made review world, split into daily event files -------------------------------------
START = date(2026, 9, 1)  # a Tuesday; the world runs `days` days from here


def make_world(root: Path, days: int = 40, seed: int = 3) -> dict[str, object]:
    """Reference files + one events CSV per day under root/days/, with a few injected misuses.

    Three organisations, five staff each, 150 children. Injected in the last ten days: a leaver's
    account used after its end date (leaver_account), a user reading a child outside any involvement
    (no_relationship), and one organisation silent for four working days (log_gap). Returns the
    injection facts the tests check against.
    """
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    orgs = [("O1", "Northshire Council", "local_authority", "A"), ("O2", "Elm GP", "gp_practice", "B"),
            ("O3", "Oak School", "school", "A")]
    roles = {"O1": "caseworker", "O2": "gp", "O3": "teacher"}
    _write_csv(root / "organisations.csv", ["org_id", "name", "type", "area"], orgs)
    leaver_end = START + timedelta(days=days - 8)
    users = []
    for org, *_ in orgs:
        for i in range(5):
            end = leaver_end.isoformat() if (org, i) == ("O1", 4) else ""
            users.append((f"{org}-u{i}", org, roles[org], "2025-01-01", end))
    _write_csv(root / "users.csv", ["user_id", "org_id", "role", "start_date", "end_date"], users)
    subjects = [(f"C{n:04d}", "A" if n % 3 else "B", "false") for n in range(150)]
    _write_csv(root / "subjects.csv", ["record_id", "home_area", "shielded"], subjects)
    caseload = {org: [s[0] for s in subjects if int(s[0][1:]) % 3 == k] for k, (org, *_) in enumerate(orgs)}
    _write_csv(root / "involvements.csv", ["record_id", "org_id"],
               [(r, org) for org, recs in caseload.items() for r in recs])
    silent = [START + timedelta(days=d) for d in range(days - 7, days - 1)]  # O3 silent, weekdays counted
    out = root / "days"
    out.mkdir(exist_ok=True)
    for d in range(days):
        day = START + timedelta(days=d)
        rows = []
        if day.weekday() < 5:
            for user, org, *_ in users:
                if org == "O3" and day in silent:
                    continue
                if (user == "O1-u4") and day > leaver_end and d < days - 3:
                    continue  # the leaver comes back only on the last three days
                for _ in range(rng.randint(8, 14)):
                    ts = datetime.combine(day, time(8)) + timedelta(minutes=rng.randint(0, 8 * 60))
                    rows.append((ts, user, org, rng.choice(caseload[org]), "view", "success"))
        if d >= days - 3:
            ts = datetime.combine(day, time(10, 30))
            rows += [(ts + timedelta(minutes=k), "O1-u4", "O1", caseload["O1"][k], "view", "success")
                     for k in range(3)]
        if d == days - 4:  # a GP reads children their practice has nothing to do with
            ts = datetime.combine(day, time(11))
            rows += [(ts + timedelta(minutes=k), "O2-u1", "O2", caseload["O1"][k], "view", "success")
                     for k in range(12)]
        rows.sort()
        _write_csv(out / f"events-{day.isoformat()}.csv",
                   ["event_id", "timestamp", "user_id", "org_id", "record_id", "action", "outcome"],
                   [(f"E{d:03d}-{i:05d}", r[0].isoformat() + "Z", *r[1:]) for i, r in enumerate(rows)])
    return {"leaver": "O1-u4", "no_relationship": "O2-u1", "silent_org": "O3", "silent_days": silent,
            "start": START, "days": days}


def day_file(world: Path, d: int) -> Path:
    """The events file of day number `d` (0-based) of a world made by make_world."""
    return world / "days" / f"events-{(START + timedelta(days=d)).isoformat()}.csv"


def _write_csv(path: Path, header: list[str], rows: list[tuple[object, ...]]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
