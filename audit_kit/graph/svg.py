"""Draw an AccessGraph as a self-contained SVG: seeded layout, risk colours, widths by volume, legend.

The SVG references nothing outside itself (no fonts, images or links), every text from the data
is escaped, and numbers are rounded, so the same graph gives byte-identical output.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from datetime import timedelta

from audit_kit.graph.layout import SEED, layout
from audit_kit.graph.model import AccessGraph, Edge, Node, risk_rank

WIDTH, HEIGHT = 960, 680
PLOT = (20.0, 64.0, 610.0, 620.0)  # x0, y0, x1, y1 of the drawing area
LEGEND_X = 724
MAX_LABELS = 40
# Average advance of a label's characters in DejaVu Sans, in em (digits 0.64, lower case about 0.58).
_LABEL_EM = 0.58
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"

RISK_COLOURS: dict[str | None, str] = {
    None: "#a7b1bb",
    "info": "#74a9cf",
    "low": "#f6d55c",
    "medium": "#f39c3d",
    "high": "#d7301f",
    "critical": "#7f0000",
}
EDGE_PLAIN = "#8c96a0"
COMMUNITY_COLOURS = ("#0072b2", "#009e73", "#cc79a7", "#56b4e9", "#e69f00", "#000000", "#d55e00", "#7570b3")
STATUS_DASH = {
    "new": "7 4",
    "grown": "10 3 2 3",
    "vanished": "2 4",
    "unexplained": "7 4",
}
STATUS_TEXT = {
    "new": "new tie (none in baseline)",
    "grown": "grown tie (at least doubled)",
    "vanished": "vanished tie (baseline only)",
    "stable": "stable tie",
    "unexplained": "read by a body not involved",
    "explained": "read by an involved body",
}
KIND_TEXT = {"org": "organisation", "user": "user", "record": "child (pseudonym)", "area": "area", "summary": "summary of left-out nodes"}
WIDTH_TEXT = {
    "orgs": "edge width: children both bodies accessed",
    "org": "edge width: children of the area read",
    "user": "edge width: accesses",
    "record": "edge width: accesses",
}
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def esc(text: object) -> str:
    """Text safe inside SVG elements and attributes: XML-invalid characters dropped, markup escaped."""
    return html.escape(_XML_BAD.sub("", str(text)), quote=True)


def _f(v: float) -> str:
    return f"{v:.1f}"


def _radius(n: Node, max_count: int) -> float:
    if n.pinned:
        return 13.0
    if max_count <= 0:
        return 6.0
    return 4.0 + 9.0 * math.sqrt(max(n.count, 0) / max_count)


def _shape(n: Node, x: float, y: float, r: float, fill: str, stroke: str, sw: float) -> str:
    common = f'fill="{fill}" stroke="{stroke}" stroke-width="{_f(sw)}"'
    if n.kind == "org":
        return f'<rect x="{_f(x - r)}" y="{_f(y - r)}" width="{_f(2 * r)}" height="{_f(2 * r)}" rx="3" {common}/>'
    if n.kind == "record":
        pts = f"{_f(x)},{_f(y - r * 1.2)} {_f(x + r * 1.2)},{_f(y)} {_f(x)},{_f(y + r * 1.2)} {_f(x - r * 1.2)},{_f(y)}"
        return f'<polygon points="{pts}" {common}/>'
    if n.kind == "area":
        pts = " ".join(
            f"{_f(x + r * 1.15 * math.cos(a))},{_f(y + r * 1.15 * math.sin(a))}"
            for a in (math.pi / 6 + i * math.pi / 3 for i in range(6))
        )
        return f'<polygon points="{pts}" {common}/>'
    if n.kind == "summary":
        return f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(r)}" {common} stroke-dasharray="3 2"/>'
    return f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(r)}" {common}/>'


def _tooltip(n: Node) -> str:
    parts = [f"{n.label} ({KIND_TEXT.get(n.kind, n.kind)})"]
    if n.attrs.get("name"):
        parts.append(str(n.attrs["name"]))
    if n.org and n.kind != "org":
        parts.append(f"organisation {n.org}")
    if n.role:
        parts.append(f"role {n.role}")
    parts.append(f"risk {n.risk or 'none'}")
    if n.detectors:
        parts.append("detectors " + ", ".join(n.detectors))
    for k in ("community", "fit", "fit_rank", "events", "users", "children", "unexplained_children",
              "baseline_users", "members"):
        if k in n.attrs and n.attrs[k] != "":
            parts.append(f"{k.replace('_', ' ')} {n.attrs[k]}")
    return esc(" · ".join(parts))


def _edge_tooltip(e: Edge, labels: dict[str, str]) -> str:
    parts = [f"{labels.get(e.source, e.source)} – {labels.get(e.target, e.target)}: {e.kind.replace('_', ' ')}"]
    if e.status:
        parts.append(STATUS_TEXT.get(e.status, e.status))
    for k, v in e.attrs.items():
        parts.append(f"{k} {v}")
    if e.detectors:
        parts.append("detectors " + ", ".join(e.detectors))
    return esc(" · ".join(parts))


def _hubs(graph: AccessGraph) -> set[str]:
    """Nodes that get a visible label: the ego, summaries, risky ones, then the busiest."""
    degree: dict[str, float] = {}
    for e in graph.edges:
        degree[e.source] = degree.get(e.source, 0) + e.weight
        degree[e.target] = degree.get(e.target, 0) + e.weight
    must = [n for n in graph.nodes if n.pinned or n.kind in ("summary", "org", "area") or risk_rank(n.risk) >= 2
            or str(n.label) != n.id.split(":", 1)[-1]]
    rest = sorted((n for n in graph.nodes if n not in must), key=lambda n: (-degree.get(n.id, 0), n.id))
    chosen = sorted(must, key=lambda n: (not n.pinned, -risk_rank(n.risk), -degree.get(n.id, 0), n.id))
    chosen = chosen[:MAX_LABELS] + rest[: max(0, min(12, MAX_LABELS - len(chosen)))]
    return {n.id for n in chosen}


def render_svg(graph: AccessGraph, max_nodes: int = 250, seed: int = SEED) -> str:
    """The graph drawn as an SVG document (string). Graphs over `max_nodes` are summarised first."""
    graph = graph.capped(max_nodes)
    if graph.kind == "orgs" and len(graph.edges) > 3 * len(graph.nodes):
        graph = graph.thinned()
    pos01 = layout(graph, seed)
    x0, y0, x1, y1 = PLOT
    pad = 28.0
    pos = {k: (x0 + pad + u * (x1 - x0 - 2 * pad), y0 + pad + v * (y1 - y0 - 2 * pad)) for k, (u, v) in pos01.items()}
    nodes = sorted(graph.nodes, key=lambda n: (risk_rank(n.risk), n.pinned, n.id))
    labels = {n.id: n.label for n in graph.nodes}
    max_count = max((n.count for n in graph.nodes if not n.pinned), default=0)
    max_w = max((e.weight for e in graph.edges if e.kind != "shares_children"), default=0.0)
    max_peer = max((e.weight for e in graph.edges if e.kind == "shares_children"), default=0.0)
    communities = sorted({str(n.attrs["community"]) for n in graph.nodes if n.attrs.get("community") not in (None, "")})
    comm_colour = {c: COMMUNITY_COLOURS[i % len(COMMUNITY_COLOURS)] for i, c in enumerate(communities)}

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{FONT}" role="img">',
        f"<title>{esc(graph.title)}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="20" y="28" font-size="17" font-weight="bold" fill="#1b1f23">{esc(graph.title)}</text>',
        f'<text x="20" y="48" font-size="12" fill="#4a5560">{esc(_subtitle(graph))}</text>',
    ]
    ego = next((n.id for n in graph.nodes if n.pinned), None) if graph.kind in ("user", "record") else None
    # Edges: quiet ones first so the risky ones are drawn on top.
    out.append('<g class="edges" stroke-linecap="round" fill="none">')
    for e in sorted(graph.edges, key=lambda e: (risk_rank(e.risk), e.weight, e.source, e.target, e.kind)):
        if e.source not in pos or e.target not in pos:
            continue
        (ax, ay), (bx, by) = pos[e.source], pos[e.target]
        structural = e.kind in ("member", "involved")
        if structural:
            width, colour, opacity = 0.8, ("#4d9a4d" if e.kind == "involved" else "#c3cad1"), 0.9
        elif e.kind == "shares_children":
            width = 0.6 + 2.4 * math.sqrt(e.weight / max_peer) if max_peer > 0 else 1.0
            colour, opacity = "#6b8fb3", 0.6
        else:
            width = 0.8 + 6.2 * math.sqrt(e.weight / max_w) if max_w > 0 else 1.0
            colour = RISK_COLOURS[e.risk] if e.risk else EDGE_PLAIN
            opacity = 0.85 if e.risk else 0.55
            if ego is not None and ego not in (e.source, e.target) and not e.risk:
                opacity, width = 0.3, min(width, 2.5)  # the ego's own edges stand out
        if e.status == "vanished":
            colour, opacity = "#b0b7be", 0.8
        dash = STATUS_DASH.get(e.status, "")
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{_f(ax)}" y1="{_f(ay)}" x2="{_f(bx)}" y2="{_f(by)}" stroke="{colour}" '
            f'stroke-width="{_f(width)}" stroke-opacity="{opacity}"{dash_attr}>'
            f"<title>{_edge_tooltip(e, labels)}</title></line>"
        )
    out.append("</g>")
    out.append('<g class="nodes">')
    for n in nodes:
        x, y = pos[n.id]
        r = _radius(n, max_count)
        comm = n.attrs.get("community")
        stroke = comm_colour.get(str(comm), "#2f3a44") if comm not in (None, "") else "#2f3a44"
        sw = 2.6 if comm not in (None, "") else (2.2 if n.pinned else 0.9)
        out.append(f"<g>{_shape(n, x, y, r, RISK_COLOURS.get(n.risk, RISK_COLOURS[None]), stroke, sw)}"
                   f"<title>{_tooltip(n)}</title></g>")
    out.append("</g>")
    out.append('<g class="labels" font-size="10">')
    hubs = _hubs(graph)
    for n in nodes:
        if n.id not in hubs:
            continue
        x, y = pos[n.id]
        r = _radius(n, max_count)
        weight = ' font-weight="bold"' if n.pinned or n.kind == "summary" else ""
        text = esc(n.label)
        lx, ly = x + r + 3, y + 3.5
        # A pale box behind the label keeps it legible over edges. (A white-stroked copy of the text did the
        # same, but laying out text is most of the cost of drawing this figure in a PDF, once per pack.)
        w = _LABEL_EM * (1.08 if weight else 1.0) * 10 * len(str(n.label)) + 4
        out.append(f'<rect x="{_f(lx - 2)}" y="{_f(ly - 9.5)}" width="{_f(w)}" height="12.5" rx="2" '
                   f'fill="#ffffff" fill-opacity="0.7"/>')
        out.append(f'<text x="{_f(lx)}" y="{_f(ly)}" fill="#1b1f23"{weight}>{text}</text>')
    out.append("</g>")
    out.extend(_legend(graph, comm_colour))
    if graph.notes:
        y = HEIGHT - 10 - 14 * (len(graph.notes[:3]) - 1)
        for note in graph.notes[:3]:
            out.append(f'<text x="20" y="{y}" font-size="11" fill="#4a5560">{esc(note)}</text>')
            y += 14
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _subtitle(graph: AccessGraph) -> str:
    end = graph.until - timedelta(microseconds=1)  # the window is half-open
    n_users = sum(1 for n in graph.nodes if n.kind == "user")
    return (f"{graph.since:%Y-%m-%d} to {end:%Y-%m-%d} · {len(graph.nodes)} nodes, {len(graph.edges)} edges"
            + (f" · {n_users} users" if n_users else ""))


def _legend(graph: AccessGraph, comm_colour: dict[str, str]) -> Iterable[str]:
    x, y = LEGEND_X, 80
    yield f'<g class="legend" font-size="11" fill="#1b1f23"><text x="{x}" y="{y}" font-weight="bold">Legend</text>'
    y += 18
    yield f'<text x="{x}" y="{y}" fill="#4a5560">colour: worst finding severity</text>'
    if graph.kind == "orgs":
        y += 14
        yield f'<text x="{x}" y="{y}" fill="#4a5560">(ties: new or grown without involvements)</text>'
    present = {n.risk for n in graph.nodes} | {e.risk for e in graph.edges}
    for risk in (None, "info", "low", "medium", "high", "critical"):
        if risk not in present and risk is not None and risk_rank(risk) < 2:
            continue
        y += 16
        yield (f'<rect x="{x}" y="{y - 9}" width="12" height="10" fill="{RISK_COLOURS[risk]}" stroke="#2f3a44" '
               f'stroke-width="0.5"/><text x="{x + 18}" y="{y}">{risk or "no finding"}</text>')
    y += 22
    yield f'<text x="{x}" y="{y}" fill="#4a5560">shape: what a node is</text>'
    for kind in ("org", "user", "record", "area", "summary"):
        if not any(n.kind == kind for n in graph.nodes):
            continue
        y += 18
        yield _shape(Node(id="", kind=kind, label=""), x + 6, y - 4, 6, "#ffffff", "#2f3a44", 1.0)
        yield f'<text x="{x + 18}" y="{y}">{KIND_TEXT[kind]}</text>'
    statuses = sorted({e.status for e in graph.edges if e.status},
                      key=lambda s: list(STATUS_TEXT).index(s) if s in STATUS_TEXT else 99)
    if statuses:
        y += 22
        yield f'<text x="{x}" y="{y}" fill="#4a5560">line style</text>'
        for st in statuses:
            y += 16
            dash = STATUS_DASH.get(st, "")
            colour = "#b0b7be" if st == "vanished" else "#4a5560"
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            yield (f'<line x1="{x}" y1="{y - 4}" x2="{x + 26}" y2="{y - 4}" stroke="{colour}" stroke-width="2"'
                   f'{dash_attr}/><text x="{x + 32}" y="{y}">{esc(STATUS_TEXT.get(st, st))}</text>')
    if any(e.kind == "involved" for e in graph.edges):
        y += 16
        yield (f'<line x1="{x}" y1="{y - 4}" x2="{x + 26}" y2="{y - 4}" stroke="#4d9a4d" stroke-width="1"/>'
               f'<text x="{x + 32}" y="{y}">body involved with the child</text>')
    if any(e.kind == "member" for e in graph.edges):
        y += 16
        yield (f'<line x1="{x}" y1="{y - 4}" x2="{x + 26}" y2="{y - 4}" stroke="#c3cad1" stroke-width="1"/>'
               f'<text x="{x + 32}" y="{y}">user works for body</text>')
    if any(e.kind == "shares_children" for e in graph.edges):
        y += 16
        yield (f'<line x1="{x}" y1="{y - 4}" x2="{x + 26}" y2="{y - 4}" stroke="#6b8fb3" stroke-width="2"/>'
               f'<text x="{x + 32}" y="{y}">colleagues reading the same children</text>')
    y += 22
    yield f'<text x="{x}" y="{y}" fill="#4a5560">{esc(WIDTH_TEXT.get(graph.kind, "edge width: volume"))}</text>'
    y += 14
    yield f'<text x="{x}" y="{y}" fill="#4a5560">node size: volume</text>'
    if comm_colour:
        y += 22
        yield f'<text x="{x}" y="{y}" fill="#4a5560">outline: community</text>'
        shown = list(comm_colour.items())[:8]
        for c, colour in shown:
            y += 16
            yield (f'<circle cx="{x + 6}" cy="{y - 4}" r="5" fill="#ffffff" stroke="{colour}" stroke-width="2.6"/>'
                   f'<text x="{x + 18}" y="{y}">community {esc(c)}</text>')
        if len(comm_colour) > len(shown):
            y += 16
            yield f'<text x="{x + 18}" y="{y}">… {len(comm_colour) - len(shown)} more (colours repeat)</text>'
    yield "</g>"
