"""The typed graph every builder returns, and what it turns into (networkx, JSON, a capped view).

Nodes and edges carry what a reviewer or analyst asks of them: type, organisation, role, risk
(the worst finding severity touching them), the detectors that fired and volume counts. Record
nodes are only ever keyed by their pseudonym.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import networkx as nx

from audit_kit.models.findings import Severity

Scalar = str | int | float | bool

NODE_KINDS = ("org", "user", "record", "area", "summary")


def risk_rank(risk: str | None) -> int:
    """-1 for no finding, else the severity's rank (info 0 … critical 4)."""
    return -1 if risk is None else Severity(risk).rank


def worst(*risks: str | None) -> str | None:
    """The most severe of some risks (None when there is none)."""
    best: str | None = None
    for r in risks:
        if r is not None and risk_rank(r) > risk_rank(best):
            best = r
    return best


@dataclass
class Node:
    """A node: an organisation, user, pseudonymised record, area, or a summary of left-out nodes."""

    id: str
    kind: str
    label: str
    org: str | None = None
    role: str | None = None
    risk: str | None = None  # worst severity of the findings touching this node
    detectors: tuple[str, ...] = ()
    count: int = 0  # the node's volume (events, or children for areas and organisations)
    pinned: bool = False  # the ego / subject of the graph: never summarised away
    ring: int | None = None  # steps from the ego (ego graphs only)
    attrs: dict[str, Scalar] = field(default_factory=dict)


@dataclass
class Edge:
    """An edge with its volume (`weight`), risk, detectors and a `status` the drawing styles."""

    source: str
    target: str
    kind: str
    weight: float
    risk: str | None = None
    detectors: tuple[str, ...] = ()
    status: str = ""  # e.g. new / grown / vanished / unexplained; "" when nothing to say
    attrs: dict[str, Scalar] = field(default_factory=dict)


@dataclass
class AccessGraph:
    """A built graph: nodes, edges, what it shows (`kind`, `title`, window) and notes for the reader."""

    kind: str  # orgs | org | user | record
    title: str
    since: datetime
    until: datetime
    nodes: list[Node]
    edges: list[Edge]
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Scalar] = field(default_factory=dict)

    def node_map(self) -> dict[str, Node]:
        return {n.id: n for n in self.nodes}

    # -- views ----------------------------------------------------------------------------
    def capped(self, max_nodes: int) -> AccessGraph:
        """This graph with at most `max_nodes` nodes: the rest folded into summary nodes.

        Kept first: pinned nodes, then the riskiest, then the busiest. Left-out nodes become one
        summary node per (kind, organisation), e.g. "+42 users of LA003" (or per kind, "+180
        organisations", when per-organisation summaries cannot fit), and their edges are merged onto
        it with summed weights, so totals stay true; edges inside one summary are left out.
        """
        if len(self.nodes) <= max_nodes:
            return self
        ranked = sorted(self.nodes, key=lambda n: (not n.pinned, -risk_rank(n.risk), -n.count, n.id))

        def fold(rest: list[Node], by_org: bool) -> dict[tuple[str, str], list[Node]]:
            groups: dict[tuple[str, str], list[Node]] = defaultdict(list)
            for n in rest:
                groups[(n.kind, (n.org or "") if by_org else "")].append(n)
            return groups

        # Summary nodes themselves take slots: shrink the kept set until everything fits. One summary
        # per (kind, organisation) first; where that cannot fit with at least half the slots kept for
        # real nodes (an organisation network, whose nodes each have their own organisation), one
        # summary per kind ("+180 organisations").
        keep_n = max_nodes
        by_org = True
        while True:
            groups = fold(ranked[keep_n:], by_org)
            if keep_n + len(groups) <= max_nodes or keep_n <= 1:
                break
            keep_n -= 1
            if by_org and keep_n < max_nodes // 2:
                by_org, keep_n = False, max_nodes
        kept = ranked[:keep_n]
        moved: dict[str, str] = {}
        summaries: list[Node] = []
        for (kind, org), members in sorted(groups.items()):
            sid = f"summary:{kind}:{org}"
            noun = {"user": "users", "record": "children", "org": "organisations", "area": "areas", "summary": "summaries"}.get(
                kind, kind + "s"
            )
            label = f"+{len(members)} {noun}" + (f" of {org}" if org else "")
            summaries.append(
                Node(
                    id=sid, kind="summary", label=label, org=org or None,
                    risk=worst(*(m.risk for m in members)),
                    detectors=tuple(sorted({d for m in members for d in m.detectors})),
                    count=sum(m.count for m in members),
                    ring=min((m.ring for m in members if m.ring is not None), default=None),
                    attrs={"summarises": kind, "members": len(members)},
                )
            )
            for m in members:
                moved[m.id] = sid
        merged: dict[tuple[str, str, str], Edge] = {}
        for e in self.edges:
            s, t = moved.get(e.source, e.source), moved.get(e.target, e.target)
            if s == t:
                continue
            key = (s, t, e.kind)
            if key not in merged:
                merged[key] = replace(e, source=s, target=t, attrs=dict(e.attrs))
                if s != e.source or t != e.target:
                    merged[key].attrs = {"merged": 1}  # per-edge details no longer apply
                continue
            me = merged[key]
            me.weight += e.weight
            me.risk = worst(me.risk, e.risk)
            me.detectors = tuple(sorted(set(me.detectors) | set(e.detectors)))
            m.attrs["merged"] = int(m.attrs.get("merged", 1)) + 1
        notes = list(self.notes)
        if summaries:
            notes.append(
                f"{sum(int(s.attrs['members']) for s in summaries)} lower-risk, lower-volume nodes are "
                f"folded into {len(summaries)} summary nodes to keep the picture readable."
            )
        return replace(self, nodes=kept + summaries, edges=list(merged.values()), notes=notes)

    def thinned(self, per_node: int = 3) -> AccessGraph:
        """This graph with only the edges a picture needs: every coloured or changed edge, plus
        each node's `per_node` heaviest. Dense networks (every body tied to every other) stay
        readable; a note says how many weaker ties were left out."""
        keep: set[int] = set()
        by_node: dict[str, list[int]] = defaultdict(list)
        for i, e in enumerate(self.edges):
            if e.risk is not None or e.status in ("new", "grown", "vanished"):
                keep.add(i)
            by_node[e.source].append(i)
            by_node[e.target].append(i)
        for idx in by_node.values():
            keep.update(sorted(idx, key=lambda i: (-self.edges[i].weight, i))[:per_node])
        if len(keep) == len(self.edges):
            return self
        dropped = len(self.edges) - len(keep)
        notes = [*self.notes, f"{dropped} weaker unchanged ties are not drawn (they are in the data exports)."]
        return replace(self, edges=[e for i, e in enumerate(self.edges) if i in keep], notes=notes)

    # -- conversions ------------------------------------------------------------------------
    def to_networkx(self) -> nx.Graph:
        """A networkx graph (MultiGraph-free, undirected) whose attributes are scalars only.

        Lists (detectors) become comma-separated strings and missing values are left out, so the
        graph writes to GraphML and GEXF and reads back with the same attributes.
        """
        g = nx.Graph()
        g.graph.update(
            {"kind": self.kind, "title": self.title, "since": self.since.isoformat(),
             "until": self.until.isoformat()}
        )
        for n in sorted(self.nodes, key=lambda n: n.id):
            data: dict[str, Scalar] = {
                "type": n.kind, "label": n.label, "count": int(n.count), "pinned": bool(n.pinned),
                "detectors": ",".join(n.detectors), "risk": n.risk or "none",
            }
            if n.org is not None:
                data["org"] = n.org
            if n.role is not None:
                data["role"] = n.role
            if n.ring is not None:
                data["ring"] = int(n.ring)
            for k, v in n.attrs.items():
                if v is not None:
                    data.setdefault(k, v)
            g.add_node(n.id, **data)
        for e in sorted(self.edges, key=lambda e: (e.source, e.target, e.kind)):
            data = {
                "type": e.kind, "weight": float(e.weight), "risk": e.risk or "none",
                "detectors": ",".join(e.detectors), "status": e.status,
            }
            for k, v in e.attrs.items():
                if v is not None:
                    data.setdefault(k, v)
            g.add_edge(e.source, e.target, **data)
        return g

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: graph metadata, nodes and edges with lists kept as lists."""
        return {
            "kind": self.kind,
            "title": self.title,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "meta": dict(self.meta),
            "notes": list(self.notes),
            "nodes": [
                {"id": n.id, "type": n.kind, "label": n.label, "org": n.org, "role": n.role,
                 "risk": n.risk, "detectors": list(n.detectors), "count": n.count, "pinned": n.pinned,
                 "ring": n.ring, **n.attrs}
                for n in sorted(self.nodes, key=lambda n: n.id)
            ],
            "edges": [
                {"source": e.source, "target": e.target, "type": e.kind, "weight": e.weight,
                 "risk": e.risk, "detectors": list(e.detectors), "status": e.status, **e.attrs}
                for e in sorted(self.edges, key=lambda e: (e.source, e.target, e.kind))
            ],
        }
