"""The organisation↔organisation network: ties, expected vs observed, change against the baseline."""

from __future__ import annotations

from datetime import datetime

from graph_world import SINCE, UNTIL

from audit_kit.graph import org_network
from audit_kit.graph.window import resolve_window
from audit_kit.store.workspace import Workspace


def _edge(g, a: str, b: str):  # noqa: ANN001, ANN202
    src, dst = sorted((a, b))
    return next(e for e in g.edges if (e.source, e.target) == (src, dst))


def test_every_active_body_is_a_node_with_its_volumes_and_risk(ws: Workspace) -> None:
    g = org_network(ws, resolve_window(ws, SINCE, UNTIL))
    nodes = g.node_map()
    assert set(nodes) == {"LA001", "GP001", "SCH001", "POL001", "NP001"}
    assert nodes["LA001"].risk == "medium" and nodes["LA001"].detectors == ("peer_outlier",)
    assert nodes["GP001"].risk is None
    # POL001 read 10 children it has no involvement with, plus the famous child.
    assert nodes["POL001"].attrs["unexplained_children"] == 11
    assert nodes["GP001"].attrs["unexplained_children"] == 0
    assert nodes["NP001"].attrs["name"].startswith("<script>")


def test_ties_carry_observed_expected_and_explained_counts(ws: Workspace) -> None:
    g = org_network(ws, resolve_window(ws, SINCE, UNTIL))
    la_gp = _edge(g, "LA001", "GP001")
    assert la_gp.attrs["expected"] == 40  # both involved with C001..C040
    assert la_gp.attrs["observed"] == 41  # ... and both read the famous child, which only the GP knows
    assert la_gp.attrs["explained"] == 40 and la_gp.attrs["unexplained"] == 1
    assert la_gp.status == "stable" and la_gp.risk is None
    pol_la = _edge(g, "POL001", "LA001")
    assert pol_la.status == "new"
    assert pol_la.attrs["expected"] == 0
    assert pol_la.attrs["unexplained"] == pol_la.attrs["observed"] == 11
    assert pol_la.risk == "high"
    assert g.meta["ties_new"] == sum(1 for e in g.edges if e.status == "new")


def test_vanished_and_grown_ties_against_the_baseline(ws: Workspace) -> None:
    # The school goes quiet in the window; police read one council child in the baseline.
    ws.con.execute("DELETE FROM events WHERE org_id = 'SCH001' AND timestamp >= TIMESTAMP '2026-03-15'")
    ws.con.execute(
        "INSERT INTO events (event_id, timestamp, local_time, user_id, org_id, record_id, action, outcome)"
        " VALUES ('X1', TIMESTAMP '2026-03-05 10:00', TIMESTAMP '2026-03-05 10:00', 'POL-U2', 'POL001',"
        " 'C001', 'view', 'success')"
    )
    g = org_network(ws, resolve_window(ws, SINCE, UNTIL))
    sch_gp = _edge(g, "SCH001", "GP001")
    assert sch_gp.status == "vanished"
    assert sch_gp.attrs["observed"] == 0 and sch_gp.attrs["baseline"] == 20
    assert sch_gp.attrs["expected"] == 20  # expected still computed for a vanished tie
    pol_la = _edge(g, "POL001", "LA001")
    assert pol_la.attrs["baseline"] == 1 and pol_la.status == "grown"
    assert g.meta["ties_vanished"] >= 2


def test_baseline_without_events_is_said_in_a_note(ws: Workspace) -> None:
    g = org_network(ws, resolve_window(ws, "2026-03-01", "2026-03-08"))
    assert any("baseline period" in n for n in g.notes)
    assert all(e.status == "new" for e in g.edges)


def test_default_window_is_the_detect_window(ws: Workspace) -> None:
    g = org_network(ws, resolve_window(ws))
    last = ws.con.execute("SELECT max(timestamp) FROM events").fetchall()[0][0]
    assert g.until > last
    assert (g.until - g.since).days == 14  # AuditConfig.window_days
    assert isinstance(g.since, datetime)
