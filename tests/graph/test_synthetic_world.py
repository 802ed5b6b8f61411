"""On a small synthetic world: the ego network of every injected VIP child shows all its snoopers.

Generated once per test module (about 3 s): the quality anchor of the graph issue, checked
against the generator's truth.csv rather than against any detector's output.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET

import pytest

from audit_kit.config import AuditConfig
from audit_kit.graph import ego_network, org_communities
from audit_kit.graph.svg import render_svg
from audit_kit.graph.window import resolve_window
from audit_kit.ingest import ingest_dataset
from audit_kit.store.workspace import Workspace
from audit_kit.synth import SynthParams, generate


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    root = tmp_path_factory.mktemp("synth")
    generate(root / "world", SynthParams(seed=7, orgs=6, days=28, children=1500))
    ws = Workspace.open(root / "ws", create=True)
    ingest_dataset(ws, root / "world")
    with (root / "world" / "truth.csv").open() as fh:
        truth = list(csv.DictReader(fh))
    yield ws, truth
    ws.close()


def _vip_records(ws: Workspace, snoopers: list[str]) -> dict[str, set[str]]:
    """The children the truth snoopers converge on: fewest records read by 3+ of them covering them all.

    Snoopers also read their ordinary caseload, so take the records most of them read, greedily,
    until every snooper is covered (an engine query; a few rows come back).
    """
    w = resolve_window(ws)
    rows = ws.con.execute(
        "SELECT record_id, list(DISTINCT user_id ORDER BY user_id) AS readers FROM events"
        " WHERE timestamp >= ? AND timestamp < ? AND record_id IS NOT NULL AND list_contains(?, user_id)"
        " GROUP BY record_id HAVING count(DISTINCT user_id) >= 3 ORDER BY len(readers) DESC, record_id",
        [w.since, w.until, snoopers],
    ).fetchall()
    chosen: dict[str, set[str]] = {}
    covered: set[str] = set()
    for raw, readers in rows:
        if set(readers) - covered:
            chosen[raw] = set(readers)
            covered |= set(readers)
    return chosen


def test_every_vip_record_ego_shows_all_its_snoopers(synth) -> None:  # noqa: ANN001
    ws, truth = synth
    snoopers = sorted({r["user_id"] for r in truth if r["category"] == "vip_snooping"})
    assert len(snoopers) >= 3
    vips = _vip_records(ws, snoopers)
    assert vips, "the generator injected VIP children"
    assert set().union(*vips.values()) == set(snoopers)
    for raw, readers in vips.items():
        g = ego_network(ws, resolve_window(ws), record_id=raw)
        shown = {n.label for n in g.nodes if n.kind == "user"}
        assert readers <= shown
        # The picture keeps them too (titles carry each user's id), and never the raw id.
        svg = render_svg(g)
        titles = " ".join(t.text or "" for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}title"))
        assert all(f"{u} (user)" in titles for u in readers)
        assert raw not in svg


def test_org_graph_fit_is_the_peer_signal_for_injected_outliers(synth) -> None:  # noqa: ANN001
    ws, truth = synth
    outliers = [(r["user_id"], r["org_id"]) for r in truth if r["category"] == "peer_outlier"]
    assert outliers
    from audit_kit.detectors.peer import user_community_fit

    w = resolve_window(ws)
    for uid, org in outliers:
        g = org_communities(ws, org, resolve_window(ws), AuditConfig())
        users = {n.id.removeprefix("user:"): n for n in g.nodes if n.kind == "user"}
        fit = user_community_fit(ws, AuditConfig(), w.since, w.until, org_id=org).set_index("user_id").fit
        assert users[uid].attrs["fit"] == pytest.approx(float(fit[uid]))
        ranks = sorted(int(n.attrs["fit_rank"]) for n in users.values() if "fit_rank" in n.attrs)
        assert ranks == list(range(1, len(ranks) + 1))


def test_communities_read_once_for_every_organisation_draw_the_same_graph(synth) -> None:  # noqa: ANN001
    """The DPO packs read every organisation's community fit once (`community_fits`) instead of once per
    pack: each organisation's graph must be the very same as when it reads its own."""
    from audit_kit.graph.communities import community_fits

    ws, _ = synth
    w = resolve_window(ws)
    fits = community_fits(ws, w, AuditConfig())
    orgs = sorted(ws.table("organisations").select("org_id").to_pandas().org_id)
    assert len(orgs) > 3 and set(fits.org_id) <= set(orgs)
    for org in orgs:
        alone = org_communities(ws, org, w, AuditConfig())
        shared = org_communities(ws, org, w, AuditConfig(), fits=fits)
        assert shared == alone, org
