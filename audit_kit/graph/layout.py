"""Deterministic layouts: the same graph always lands in the same place (seeded, sorted input).

Ego graphs use rings (the ego at the centre, one step, two steps) with each outer node placed near
the nodes it links to; the other graphs use a seeded force layout on log-scaled weights, with
users of one community pulled together by an invisible hub.
"""

from __future__ import annotations

import math
from collections import defaultdict

import networkx as nx

from audit_kit.graph.model import AccessGraph

SEED = 7
Pos = dict[str, tuple[float, float]]


def layout(graph: AccessGraph, seed: int = SEED) -> Pos:
    """Positions in the unit square [0, 1]² for every node of the graph."""
    if not graph.nodes:
        return {}
    if any(n.ring is not None for n in graph.nodes) and graph.kind in ("user", "record"):
        pos = _rings(graph)
    else:
        pos = _force(graph, seed)
    return _normalise(pos)


def _force(graph: AccessGraph, seed: int) -> Pos:
    g = nx.Graph()
    for n in sorted(graph.nodes, key=lambda n: n.id):
        g.add_node(n.id)
    for e in sorted(graph.edges, key=lambda e: (e.source, e.target, e.kind)):
        if e.status == "vanished":
            continue  # a tie that is gone should not pull its ends together
        w = math.log1p(max(e.weight, 0.0)) + 0.1
        g.add_edge(e.source, e.target, weight=g.get_edge_data(e.source, e.target, {}).get("weight", 0) + w)
    groups: dict[str, list[str]] = defaultdict(list)
    for n in graph.nodes:
        c = n.attrs.get("community")
        if c not in (None, ""):
            groups[str(c)].append(n.id)
    for c, members in sorted(groups.items()):
        hub = f"\x00hub:{c}"
        for m in sorted(members):
            g.add_edge(hub, m, weight=2.0)
    k = 1.6 / math.sqrt(max(g.number_of_nodes(), 1))
    pos = nx.spring_layout(g, seed=seed, weight="weight", k=k, iterations=150)
    return {n.id: (float(pos[n.id][0]), float(pos[n.id][1])) for n in graph.nodes}


def _rings(graph: AccessGraph) -> Pos:
    neighbours: dict[str, set[str]] = defaultdict(set)
    for e in graph.edges:
        neighbours[e.source].add(e.target)
        neighbours[e.target].add(e.source)
    by_ring: dict[int, list] = defaultdict(list)
    for n in graph.nodes:
        by_ring[n.ring if n.ring is not None else 2].append(n)
    pos: Pos = {}
    angle: dict[str, float] = {}
    for ring in sorted(by_ring):
        members = by_ring[ring]
        if ring == 0 and len(members) == 1:
            pos[members[0].id] = (0.0, 0.0)
            continue
        if not angle:
            # First ring: grouped by organisation and kind, so a body's users sit together.
            members.sort(key=lambda n: (n.org or "", n.kind, n.id))
        else:
            def mean_angle(nid: str) -> float:
                # In a fixed order: a float sum over a set follows the process's string hashing, and two
                # nodes at the same mean angle then swapped places from one run to the next.
                placed = [angle[m] for m in sorted(neighbours[nid]) if m in angle]
                if not placed:
                    return 10.0  # unlinked to the inner rings: put them last
                x = sum(math.cos(a) for a in placed)
                y = sum(math.sin(a) for a in placed)
                return math.atan2(y, x) % (2 * math.pi)

            members.sort(key=lambda n: (round(mean_angle(n.id), 6), n.org or "", n.id))
        radius = 0.42 * ring if ring else 0.2
        step = 2 * math.pi / len(members)
        for i, n in enumerate(members):
            a = i * step + (step / 2 if ring % 2 == 0 else 0)
            angle[n.id] = a % (2 * math.pi)
            pos[n.id] = (radius * math.cos(a), radius * math.sin(a))
    return pos


def _normalise(pos: Pos) -> Pos:
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sx = (x1 - x0) or 1.0
    sy = (y1 - y0) or 1.0
    s = max(sx, sy)  # keep the aspect ratio: rings stay round
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return {k: (0.5 + (x - cx) / s, 0.5 + (y - cy) / s) for k, (x, y) in pos.items()}
