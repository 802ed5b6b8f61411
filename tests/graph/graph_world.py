"""A small hand-made review world for graph tests: five bodies, a famous child, a new tie, findings.

Baseline is 2026-03-01..14, the window 2026-03-15..28. In the window police users start reading
children only the council, GP and school are involved with (a new, unexplained tie), and five
users from four bodies read the famous child C099 that only the GP is involved with.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from audit_kit.models.findings import Finding, Severity, finding_key
from audit_kit.store.findings import store_findings
from audit_kit.store.workspace import Workspace

SINCE = "2026-03-15"
UNTIL = "2026-03-29"
HOSTILE_NAME = '<script>alert("x")</script> & "Partners" </text><a href="http://evil.example/">'
HOSTILE_USER = 'NP-"<u>&2'
SNOOPERS = ["LA-U1", "LA-U2", "SCH-U1", "POL-U1", "NP-U1"]
VIP = "C099"

ORGS = [
    ("LA001", "Northshire Council", "local_authority", "AREA-N"),
    ("GP001", "Hill Street Surgery", "gp_practice", "AREA-N"),
    ("SCH001", "Northshire Primary", "school", "AREA-N"),
    ("POL001", "Southshire Police", "police_force", "AREA-S"),
    ("NP001", HOSTILE_NAME, "national_partner", "NATIONAL"),
]
USERS = (
    [(f"LA-U{i}", "LA001", "social_worker") for i in range(1, 7)]
    + [(f"GP-U{i}", "GP001", "gp") for i in range(1, 5)]
    + [(f"SCH-U{i}", "SCH001", "teacher") for i in range(1, 4)]
    + [(f"POL-U{i}", "POL001", "officer") for i in range(1, 4)]
    + [("NP-U1", "NP001", "analyst"), (HOSTILE_USER, "NP001", "analyst")]
)


def _child(i: int) -> str:
    return f"C{i:03d}"


def _caseload(uid: str, org: str, day: int, caseload: dict[str, range]) -> range:
    """Council team A (U1-U3, U6) works C001-C020, team B (U4, U5) C021-C040. In the window
    LA-U6, the peer outlier, works only team B's children."""
    if org != "LA001":
        return caseload[org]
    if uid in ("LA-U4", "LA-U5") or (uid == "LA-U6" and day >= 14):
        return range(21, 41)
    return range(1, 21)


def build_world(root: Path) -> Path:
    """Create the workspace under `root` and return its path."""
    rng = random.Random(3)
    path = root / "ws"
    ws = Workspace.open(path, create=True)
    con = ws.con
    con.executemany("INSERT INTO organisations VALUES (?,?,?,?,NULL,NULL)", ORGS)
    con.executemany(
        "INSERT INTO users (user_id, org_id, role, start_date) VALUES (?,?,?,DATE '2025-01-01')", USERS
    )
    subjects = [(_child(i), "AREA-N" if i <= 50 else "AREA-S", False) for i in range(1, 61)]
    subjects.append((VIP, "AREA-N", False))
    con.executemany("INSERT INTO subjects (record_id, home_area, shielded) VALUES (?,?,?)", subjects)
    inv = [(_child(i), "LA001") for i in range(1, 41)] + [(_child(i), "GP001") for i in range(1, 41)]
    inv += [(_child(i), "SCH001") for i in range(1, 21)] + [(_child(i), "POL001") for i in range(51, 61)]
    inv.append((VIP, "GP001"))
    con.executemany(
        "INSERT INTO involvements (record_id, org_id, role, start_date) VALUES (?,?,'lead',DATE '2025-01-01')",
        inv,
    )
    caseload = {
        "LA001": range(1, 41), "GP001": range(1, 41), "SCH001": range(1, 21), "POL001": range(51, 61),
        "NP001": range(1, 61),
    }
    rows = []
    start = datetime(2026, 3, 1, 8)
    for day in range(28):
        for uid, org, _role in USERS:
            if org == "NP001":
                continue  # the national partner only appears as a snooper
            load = list(_caseload(uid, org, day, caseload))
            for k in range(4):
                # Round the caseload: every child of it is read in each two-week period.
                i = load[(day * 4 + k + len(uid)) % len(load)]
                rows.append((uid, org, _child(i), start + timedelta(days=day, minutes=rng.randrange(600))))
            if org == "POL001" and day >= 14:
                # New in the window: police reading council/GP/school children C001-C010.
                rows.append((uid, org, _child(day % 10 + 1), start + timedelta(days=day, hours=3)))
    # The hostile-named account reads one police child in the window (its name must be escaped).
    rows.append((HOSTILE_USER, "NP001", _child(51), start + timedelta(days=16)))
    vip_day = start + timedelta(days=20)
    for k, uid in enumerate(SNOOPERS + ["GP-U1"]):
        org = next(o for u, o, _ in USERS if u == uid)
        rows.append((uid, org, VIP, vip_day + timedelta(minutes=7 * k)))
    ev = pd.DataFrame(rows, columns=["user_id", "org_id", "record_id", "timestamp"])
    ev["event_id"] = [f"E{i:06d}" for i in range(len(ev))]
    ev["local_time"] = ev["timestamp"]
    ev["action"] = "view"
    ev["outcome"] = "success"
    con.register("ev_df", ev)
    con.execute(
        "INSERT INTO events (event_id, timestamp, local_time, user_id, org_id, record_id, action, outcome)"
        " SELECT event_id, timestamp, local_time, user_id, org_id, record_id, action, outcome FROM ev_df"
    )
    con.unregister("ev_df")
    pseud = ws.pseudonymise(VIP)
    t0 = datetime(2026, 3, 21, 8)
    findings = [
        Finding(
            finding_id=finding_key("vip_snooping", pseud), detector="vip_snooping", severity=Severity.HIGH,
            score=0.9, org_id=None, user_id=None, record_count=1, first_seen=t0, last_seen=t0,
            summary="A child's record was read by many unrelated users.",
            evidence={"record": pseud, "users": SNOOPERS, "distinct_users": 6},
        ),
        Finding(
            finding_id=finding_key("peer_outlier", "LA-U6"), detector="peer_outlier", severity=Severity.MEDIUM,
            score=0.6, org_id="LA001", user_id="LA-U6", record_count=10, first_seen=t0, last_seen=t0,
            summary="User reads children unlike their team.", evidence={"fit": 0.05},
        ),
        Finding(
            finding_id=finding_key("no_relationship", "POL-U1"), detector="no_relationship",
            severity=Severity.MEDIUM, score=0.5, org_id="POL001", user_id="POL-U1", record_count=1,
            first_seen=t0, last_seen=t0, summary="Read a child with no relationship.",
            evidence={"records": [pseud]},
        ),
    ]
    with ws.transaction():
        store_findings(ws, findings, run_id="test", detected_at=t0)
    ws.close()
    return path
