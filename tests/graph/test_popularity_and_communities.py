"""Record popularity (behind vip_snooping) and one organisation's communities (peer_outlier's signal)."""

from __future__ import annotations

import pytest
from graph_world import SINCE, UNTIL, VIP

from audit_kit.config import AuditConfig
from audit_kit.detectors.peer import user_community_fit
from audit_kit.errors import InputError
from audit_kit.graph import org_communities, record_popularity
from audit_kit.graph.window import resolve_window
from audit_kit.store.workspace import Workspace


def test_popularity_of_the_famous_child(ws: Workspace) -> None:
    [pop] = record_popularity(ws, resolve_window(ws, SINCE, UNTIL), record_id=VIP)
    assert pop.record == ws.pseudonymise(VIP)
    assert (pop.users, pop.orgs, pop.baseline_users) == (6, 5, 0)
    assert pop.growth == 6
    assert [s[1] for s in pop.series] == [6]  # all six in the week of 2026-03-21


def test_popularity_ranks_by_distinct_users(ws: Workspace) -> None:
    top = record_popularity(ws, resolve_window(ws, SINCE, UNTIL), top=5)
    assert len(top) == 5
    users = [p.users for p in top]
    assert users == sorted(users, reverse=True)
    assert all(p.record.startswith("R-") for p in top)


def test_communities_use_the_peer_detector_signal(ws: Workspace) -> None:
    g = org_communities(ws, "LA001", resolve_window(ws, SINCE, UNTIL), AuditConfig())
    w = resolve_window(ws, SINCE, UNTIL)
    fit = user_community_fit(ws, AuditConfig(), w.since, w.until, org_id="LA001")
    users = {n.id.removeprefix("user:"): n for n in g.nodes if n.kind == "user"}
    assert set(users) == set(fit.user_id)
    for r in fit.itertuples():
        assert users[r.user_id].attrs["community"] == r.community
        assert users[r.user_id].attrs["fit"] == pytest.approx(r.fit)
    # Two teams; the outlier belongs to team A but now works team B's children: worst fit, labelled.
    outlier = users["LA-U6"]
    assert outlier.attrs["community"] == users["LA-U1"].attrs["community"] != users["LA-U4"].attrs["community"]
    assert outlier.attrs["fit_rank"] == 1 and outlier.attrs["fit"] < 0.1
    assert "fit 0.0" in outlier.label and outlier.risk == "medium"
    assert {n.label for n in g.nodes if n.kind == "area"} == {"AREA-N"}
    assert {e.kind for e in g.edges} == {"read_children_of", "shares_children"}
    # In the window the outlier reads the same children as team B, not as its own team.
    links = {e.source if e.target == "user:LA-U6" else e.target
             for e in g.edges if e.kind == "shares_children" and "user:LA-U6" in (e.source, e.target)}
    assert links and links <= {"user:LA-U4", "user:LA-U5"}


def test_unknown_organisation_names_the_known_ones(ws: Workspace) -> None:
    with pytest.raises(InputError, match="LA999") as exc:
        org_communities(ws, "LA999", resolve_window(ws, SINCE, UNTIL), AuditConfig())
    assert "GP001" in str(exc.value)


def test_org_filtered_aggregate_gives_the_peer_detectors_exact_frame(ws: Workspace) -> None:
    from audit_kit.graph.communities import _community_fit

    w = resolve_window(ws, SINCE, UNTIL)
    for org in ("LA001", "GP001", "POL001", "NP001"):
        ours = _community_fit(ws, w.since, w.until, org, AuditConfig()).sort_values("user_id").reset_index(drop=True)
        theirs = user_community_fit(ws, AuditConfig(), w.since, w.until, org_id=org)
        theirs = theirs.sort_values("user_id").reset_index(drop=True)
        assert len(ours) > 0
        assert ours.equals(theirs), org
