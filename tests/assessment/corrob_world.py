"""A small review dataset (CSV files, ingested through the CLI) whose logs contradict chosen claims.

A uniquely named helper module (tests run without packages). September 2026, weekdays only:

- LA1 (local authority, network 10.1.0.0/16): u1–u3 sign in with MFA, u4 with a password only (MFA on
  about 78% of sessions); u5 left on 5 September and kept using the account to the 20th; u6 is
  enabled and never used (a dormant account). Every view is of a child LA1 works with.
- GP1 (GP practice, network 10.2.0.0/24): g1 and g2 always use MFA; g2 works from an undeclared home
  network (203.0.113.7) on Mondays; the practice's log stream is silent for a whole week (14–20 Sep).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

START = date(2026, 9, 1)
DAYS = 30
LA_CHILDREN = [f"c{i}" for i in range(10)]
GP_CHILDREN = [f"c{i}" for i in range(10, 15)]


def write_dataset(root: Path) -> Path:
    (root / "events").mkdir(parents=True, exist_ok=True)
    (root / "organisations.csv").write_text(
        "org_id,name,type,area\nLA1,Northshire Council,local_authority,A1\nGP1,Elm Surgery,gp_practice,A1\n")
    users = ["user_id,org_id,role,start_date,end_date"]
    users += [f"u{i},LA1,caseworker,2024-01-01," for i in (1, 2, 3, 4, 6)]
    users += ["u5,LA1,caseworker,2024-01-01,2026-09-05", "g1,GP1,gp,2024-01-01,", "g2,GP1,gp,2024-01-01,"]
    (root / "users.csv").write_text("\n".join(users) + "\n")
    (root / "subjects.csv").write_text(
        "record_id,home_area,shielded\n" + "".join(f"{c},A1,false\n" for c in LA_CHILDREN + GP_CHILDREN))
    (root / "involvements.csv").write_text(
        "record_id,org_id,role,start_date,end_date\n"
        + "".join(f"{c},LA1,case,2024-01-01,\n" for c in LA_CHILDREN)
        + "".join(f"{c},GP1,patient,2024-01-01,\n" for c in GP_CHILDREN))
    rows = ["event_id,timestamp,user_id,org_id,record_id,action,outcome,source_ip,auth_method,session_id"]
    n = 0

    def views(day: date, user: str, org: str, records: list[str], ip: str, auth: str) -> None:
        nonlocal n
        for i, rec in enumerate(records):
            n += 1
            rows.append(f"e{n},{day.isoformat()}T{9 + i:02d}:00:00Z,{user},{org},{rec},view,success,{ip},{auth},"
                        f"{user}-{day:%Y%m%d}")

    for d in range(DAYS):
        day = START + timedelta(days=d)
        if day.weekday() >= 5:
            continue
        for k, user in enumerate(("u1", "u2", "u3", "u4", "u5")):
            if user == "u5" and day > date(2026, 9, 20):
                continue
            views(day, user, "LA1", LA_CHILDREN[2 * k:2 * k + 3], f"10.1.0.{k + 5}",
                  "password" if user == "u4" else "mfa")
        if date(2026, 9, 14) <= day <= date(2026, 9, 20):
            continue  # GP1's logs fall silent for a week
        views(day, "g1", "GP1", GP_CHILDREN[:4], "10.2.0.5", "mfa")
        views(day, "g2", "GP1", GP_CHILDREN[1:], "203.0.113.7" if day.weekday() == 0 else "10.2.0.6", "mfa")
    (root / "events" / "september.csv").write_text("\n".join(rows) + "\n")
    return root
