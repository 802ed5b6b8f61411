"""Ego networks of a record and of a user: who is within two steps, which detectors label the edges."""

from __future__ import annotations

import pytest
from graph_world import SINCE, SNOOPERS, UNTIL, VIP

from audit_kit.errors import InputError
from audit_kit.graph import ego_network
from audit_kit.graph.ego import resolve_record
from audit_kit.graph.window import resolve_window
from audit_kit.store.workspace import Workspace


def test_record_ego_shows_every_snooper_with_the_detector_on_their_edge(ws: Workspace) -> None:
    pseud = ws.pseudonymise(VIP)
    g = ego_network(ws, resolve_window(ws, SINCE, UNTIL), record_id=pseud)
    nodes = g.node_map()
    assert nodes[pseud].pinned and nodes[pseud].kind == "record" and nodes[pseud].risk == "high"
    readers = {n.label for n in g.nodes if n.kind == "user"}
    assert readers == set(SNOOPERS) | {"GP-U1"}
    access = {e.source.removeprefix("user:"): e for e in g.edges if e.kind == "accessed"}
    for uid in SNOOPERS:
        assert "vip_snooping" in access[uid].detectors
        assert access[uid].status == "unexplained"
    # The GP is involved with the child: an explained read, no detector.
    assert access["GP-U1"].status == "explained" and access["GP-U1"].detectors == ()
    # POL-U1's own finding names the record too.
    assert set(access["POL-U1"].detectors) == {"no_relationship", "vip_snooping"}
    # Orgs: every reader's body (two steps) and the involved GP (one step).
    assert {n.id for n in g.nodes if n.kind == "org"} == {"LA001", "SCH001", "POL001", "NP001", "GP001"}
    assert any(e.kind == "involved" and e.target == "GP001" for e in g.edges)
    assert nodes[pseud].attrs["users"] == 6 and nodes[pseud].attrs["baseline_users"] == 0


def test_record_found_by_raw_id_or_pseudonym_and_never_shown_raw(ws: Workspace) -> None:
    by_raw = ego_network(ws, resolve_window(ws, SINCE, UNTIL), record_id=VIP)
    by_pseud = ego_network(ws, resolve_window(ws, SINCE, UNTIL), record_id=ws.pseudonymise(VIP))
    assert by_raw.to_dict() == by_pseud.to_dict()
    assert VIP not in str(by_raw.to_dict())
    assert resolve_record(ws, ws.pseudonymise("C001") or "") == "C001"


def test_user_ego_reaches_two_steps(ws: Workspace) -> None:
    g = ego_network(ws, resolve_window(ws, SINCE, UNTIL), user_id="POL-U1")
    nodes = g.node_map()
    ego = nodes["user:POL-U1"]
    assert ego.pinned and ego.ring == 0 and ego.org == "POL001"
    records = [n for n in g.nodes if n.kind == "record"]
    assert records and all(n.ring == 1 and n.id.startswith("R-") for n in records)
    others = [n for n in g.nodes if n.kind == "user" and not n.pinned]
    assert others and all(n.ring == 2 for n in others)
    # Council users share children with the police user now: they are two steps away.
    assert any(n.org == "LA001" for n in others)
    vip = ws.pseudonymise(VIP)
    edge = next(e for e in g.edges if e.source == "user:POL-U1" and e.target == vip)
    assert edge.detectors == ("no_relationship", "vip_snooping") and edge.risk == "high"
    assert not any(str(n.label).startswith("C0") for n in g.nodes)


def test_user_ego_folds_children_beyond_the_limit(ws: Workspace) -> None:
    g = ego_network(ws, resolve_window(ws, SINCE, UNTIL), user_id="POL-U1", max_records=5)
    records = [n for n in g.nodes if n.kind == "record"]
    assert len(records) == 5
    # The flagged child comes first, whatever its volume.
    assert ws.pseudonymise(VIP) in {n.id for n in records}
    summary = next(n for n in g.nodes if n.kind == "summary")
    assert summary.label == f"+{g.meta['children'] - 5} more children"


def test_unknown_user_or_record_is_an_input_error(ws: Workspace) -> None:
    with pytest.raises(InputError, match="no such user"):
        ego_network(ws, resolve_window(ws, SINCE, UNTIL), user_id="nobody")
    with pytest.raises(InputError, match="R-0000000000000000"):
        ego_network(ws, resolve_window(ws, SINCE, UNTIL), record_id="R-0000000000000000")
    with pytest.raises(InputError, match="exactly one"):
        ego_network(ws, resolve_window(ws), user_id="LA-U1", record_id=VIP)
