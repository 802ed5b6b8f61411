"""Small hand-built review datasets for ingest tests (a uniquely named module: test dirs are not packages)."""

from __future__ import annotations

from pathlib import Path

ORGS = """org_id,name,type,area,timezone,working_hours
LA001,Northshire County Council,Local Authority,N01,,
GP002,Elm Surgery,gp_practice,N01,Europe/London,08:00-18:30
"""
USERS = """user_id,org_id,role,start_date,end_date,family_key
u1,LA001,caseworker,2024-01-01,,fk1
u2,GP002,gp,2024-01-01,2026-05-01,
"""
EVENTS = """event_id,timestamp,user_id,org_id,record_id,action,outcome,records_returned,break_glass
e1,2026-07-01T12:00:00Z,u1,LA001,c1,view,success,,
e2,2026-01-15T09:30:00+00:00,u1,LA001,,search,success,5,
e3,2026-03-29T01:30:00Z,u2,GP002,c2,print,success,,
"""


def write_dataset(root: Path, events: str = EVENTS, orgs: str = ORGS, users: str | None = USERS) -> Path:
    (root / "events").mkdir(parents=True, exist_ok=True)
    (root / "organisations.csv").write_text(orgs)
    if users is not None:
        (root / "users.csv").write_text(users)
    (root / "events" / "a.csv").write_text(events)
    return root
