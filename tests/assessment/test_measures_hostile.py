"""Every corroboration measure survives any stored data, as the detectors do: unknown users and bodies,
no baseline, nulls, extreme values and nonsense in optional columns. Hostile rows are written straight
into a fresh workspace (as a bad source or an old release might have left them) and the whole
assessment runs over them: it must finish, with a measure row for every body the events name."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from audit_kit.assessment import assess_workspace
from audit_kit.assessment.measures import log_window, measure_orgs
from audit_kit.config import AuditConfig
from audit_kit.store.workspace import Workspace

T0 = datetime(2026, 3, 2, 9, 0)
ORGS = ["LA1", "GP1", "NOWHERE"]  # NOWHERE has events but no organisations.csv row
USERS = ["U1", "U2", "U3", "GHOST"]  # GHOST is in no users.csv
EVENT_COLUMNS = ["event_id", "timestamp", "local_time", "user_id", "org_id", "record_id", "action", "outcome",
                 "source_ip", "auth_method", "purpose", "session_id", "records_returned", "break_glass",
                 "source_file", "source_row", "ingested_at", "batch_id", "source_action", "target"]


@st.composite
def hostile_rows(draw: st.DrawFn) -> dict[str, list[tuple[object, ...]]]:
    orgs = [("LA1", "Council", "local_authority", draw(st.sampled_from(["A", None])), None,
             draw(st.sampled_from([None, "07:00-19:00", "bad", "00:00-24:00"]))),
            ("GP1", "Practice", draw(st.sampled_from(["gp_practice", "weird"])), "B", None, None)]
    users = [(u, draw(st.sampled_from(ORGS)), draw(st.sampled_from([None, "", "caseworker", "x" * 200])),
              draw(st.sampled_from([None, date(2020, 1, 1), date(2030, 1, 1)])),
              draw(st.sampled_from([None, date(2019, 1, 1), date(2026, 3, 20)])),
              None, draw(st.sampled_from([None, True, False])), None, None) for u in USERS[:3]]
    subjects = [(r, draw(st.sampled_from([None, "A"])), draw(st.sampled_from([None, True])), None, None)
                for r in ("R1", "R2")]
    span = draw(st.sampled_from([1, 40]))
    events = []
    for i in range(draw(st.integers(1, 50))):
        ts = T0 + timedelta(minutes=draw(st.integers(0, span * 24 * 60)))
        events.append((
            f"E{i}", ts, ts, draw(st.sampled_from(USERS)), draw(st.sampled_from(ORGS)),
            draw(st.sampled_from([None, "R1", "R2", "R-unknown"])),
            draw(st.sampled_from(["view", "search", "export", "print", "login", "logout", "admin", "other"])),
            draw(st.sampled_from(["success", "denied", "failure"])),
            draw(st.sampled_from([None, "10.0.0.1", "198.51.100.7", "::1", "not-an-ip", ""])),
            draw(st.sampled_from([None, "mfa", "password", "api_key", ""])),
            draw(st.sampled_from([None, "statutory_return"])), draw(st.sampled_from([None, "s1"])),
            draw(st.sampled_from([None, 0, -5, 2**31 - 1])), draw(st.sampled_from([None, True])),
            "hostile.csv", i + 2, ts, "b1", None, None,
        ))
    return {"organisations": orgs, "users": users, "subjects": subjects, "events": events}


def _load(root: Path, rows: dict[str, list[tuple[object, ...]]]) -> Workspace:
    ws = Workspace.open(root, create=True)
    for table in ("organisations", "users", "subjects"):
        marks = ",".join("?" * len(rows[table][0]))
        ws.con.executemany(f"INSERT INTO {table} VALUES ({marks})", rows[table])
    frame = pd.DataFrame(rows["events"], columns=EVENT_COLUMNS)
    ws.con.register("_hostile", frame)
    ws.con.execute(f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) SELECT * FROM _hostile")
    ws.con.unregister("_hostile")
    return ws


def test_every_measure_and_the_assessment_survive_hostile_rows(tmp_path: Path) -> None:
    runs = iter(range(1000))

    @settings(max_examples=4, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(hostile_rows())
    def check(rows: dict[str, list[tuple[object, ...]]]) -> None:
        ws = _load(tmp_path / f"ws{next(runs)}", rows)
        try:
            window = log_window(ws)
            assert window is not None
            named = {e[4] for e in rows["events"]}
            measured = measure_orgs(ws, window, config=AuditConfig())
            assert named <= set(measured)  # a body with events is measured, registered or not
            assessment = assess_workspace(ws, AuditConfig(), store=False)
            assert {o.org_id for o in assessment.orgs} >= named
        finally:
            ws.close()

    check()
