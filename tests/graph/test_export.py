"""Exports: GraphML and GEXF round-trip through networkx with their attributes; JSON, PDF and PNG files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import networkx as nx
import pytest
from graph_world import SINCE, UNTIL, VIP
from PIL import Image
from pypdf import PdfReader

from audit_kit.graph import ego_network, org_network
from audit_kit.graph.export import GraphFormat, format_for, graph_bytes, write_graph
from audit_kit.graph.window import resolve_window
from audit_kit.store.workspace import Workspace


def test_graphml_round_trip_keeps_node_and_edge_attributes(ws: Workspace, tmp_path: Path) -> None:
    g = ego_network(ws, resolve_window(ws, SINCE, UNTIL), record_id=VIP)
    path = tmp_path / "ego.graphml"
    write_graph(g, path, GraphFormat.graphml)
    back = nx.read_graphml(path)
    want = g.to_networkx()
    assert dict(back.nodes(data=True)) == dict(want.nodes(data=True))
    # Undirected: an edge may come back as (b, a).
    assert {frozenset((a, b)): d for a, b, d in back.edges(data=True)} == {
        frozenset((a, b)): d for a, b, d in want.edges(data=True)
    }
    pseud = ws.pseudonymise(VIP)
    assert back.nodes[pseud]["type"] == "record" and back.nodes[pseud]["risk"] == "high"
    assert back.nodes["user:POL-U1"]["org"] == "POL001" and back.nodes["user:POL-U1"]["role"] == "officer"
    edge = back.edges["user:POL-U1", pseud]
    assert edge["detectors"] == "no_relationship,vip_snooping" and edge["events"] == 1 and edge["explained"] is False
    assert isinstance(back.nodes[pseud]["count"], int)
    assert VIP not in path.read_text()


def test_gexf_round_trip(ws: Workspace, tmp_path: Path) -> None:
    g = org_network(ws, resolve_window(ws, SINCE, UNTIL))
    path = tmp_path / "orgs.gexf"
    write_graph(g, path, GraphFormat.gexf)
    back = nx.read_gexf(path)
    assert set(back.nodes) == {n.id for n in g.nodes}
    assert back.nodes["LA001"]["type"] == "org" and back.nodes["LA001"]["risk"] == "medium"
    assert back.nodes["LA001"]["detectors"] == "peer_outlier"
    e = back.edges["LA001", "POL001"] if back.has_edge("LA001", "POL001") else back.edges["POL001", "LA001"]
    assert e["status"] == "new" and e["observed"] == 11 and e["expected"] == 0


def test_json_export_is_the_graph(ws: Workspace) -> None:
    g = ego_network(ws, resolve_window(ws, SINCE, UNTIL), user_id="POL-U1")
    data = json.loads(graph_bytes(g, GraphFormat.json))
    assert data["kind"] == "user" and len(data["nodes"]) == len(g.nodes) and len(data["edges"]) == len(g.edges)
    ego = next(n for n in data["nodes"] if n["id"] == "user:POL-U1")
    assert ego["pinned"] is True and ego["detectors"] == ["no_relationship"]


def test_pdf_and_png_pictures(ws: Workspace) -> None:
    g = org_network(ws, resolve_window(ws, SINCE, UNTIL))
    pdf = graph_bytes(g, GraphFormat.pdf)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    assert "Organisations linked" in reader.pages[0].extract_text()
    png = graph_bytes(g, GraphFormat.png)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == (1920, 1360)


@pytest.mark.parametrize(
    ("path", "given", "want"),
    [("g.gexf", None, "gexf"), ("g.PDF", None, "pdf"), ("g.txt", None, "svg"), (None, None, "svg"), ("g.svg", "json", "json")],
)
def test_format_from_option_or_suffix(path: str | None, given: str | None, want: str) -> None:
    assert format_for(Path(path) if path else None, given).value == want
