"""Hand-built workspaces for the assessment tests: every number in them is chosen and known.

A uniquely named helper module (tests run without packages), imported by conftest and the tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from audit_kit.store.workspace import Workspace

START = datetime(2026, 9, 1, 9, 0)  # a Tuesday
DAYS = 30


@dataclass
class World:
    """Rows to insert: keep the numbers small and explicit so tests can state expectations."""

    orgs: list[tuple] = field(default_factory=list)
    users: list[tuple] = field(default_factory=list)
    subjects: list[tuple] = field(default_factory=list)
    involvements: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def org(self, org_id: str, type_: str = "local_authority", area: str = "A1") -> None:
        self.orgs.append((org_id, f"{org_id} Council", type_, area, None, None))

    def user(self, user_id: str, org_id: str, role: str = "caseworker", start: date | None = date(2024, 1, 1),
             end: date | None = None) -> None:
        self.users.append((user_id, org_id, role, start, end, None, None, None, None))

    def child(self, record_id: str, area: str = "A1", shielded: bool = False) -> None:
        self.subjects.append((record_id, area, shielded, None, 2015))

    def involve(self, record_id: str, org_id: str) -> None:
        self.involvements.append((record_id, org_id, "case", date(2024, 1, 1), None))

    def event(self, ts: datetime, user_id: str, org_id: str, action: str = "view", record_id: str | None = None,
              outcome: str = "success", ip: str | None = "10.1.0.5", auth: str | None = "mfa",
              session: str | None = None, returned: int | None = None, break_glass: bool | None = False,
              sessionless: bool = False) -> None:
        """One event; `sessionless` leaves `session_id` empty, as many real logs do."""
        n = next(self._ids)
        self.events.append((
            f"e{n}", ts, ts, user_id, org_id, record_id, action, outcome, ip, auth, "case_work",
            None if sessionless else (session or f"{user_id}-{ts:%Y%m%d}"), returned, break_glass, "hand.csv", n, ts, "b1",
        ))

    def daily(self, user_id: str, org_id: str, records: list[str], days: int = DAYS, **kw) -> None:
        """One view per record per weekday over the period (normal, explained traffic)."""
        for d in range(days):
            day = START + timedelta(days=d)
            if day.weekday() >= 5:
                continue
            for i, rec in enumerate(records):
                self.event(day + timedelta(minutes=10 * i), user_id, org_id, "view", rec, **kw)

    def build(self, path: Path) -> Workspace:
        ws = Workspace.open(path, create=True)
        with ws.transaction() as con:
            for table, rows in (("organisations", self.orgs), ("users", self.users),
                                ("subjects", self.subjects), ("involvements", self.involvements),
                                ("events", self.events)):
                if rows:
                    marks = ",".join("?" * len(rows[0]))
                    # the leading columns by name: later schema versions append columns to a table
                    names = [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description][:len(rows[0])]
                    con.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", rows)
        return ws
