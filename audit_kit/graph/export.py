"""Write a graph to a file: a picture (svg, png, pdf) or data (graphml, gexf, json).

Pictures are summarised to a readable size; data exports keep every node the builder made.
PDF comes from WeasyPrint rendering the SVG; PNG from CairoSVG. Neither may fetch anything:
the SVG is self-contained and the PDF's URL fetcher refuses every request.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import networkx as nx

from audit_kit.errors import AuditKitError, InputError
from audit_kit.graph.model import AccessGraph
from audit_kit.graph.svg import HEIGHT, WIDTH, render_svg

DEFAULT_MAX_NODES = 250


class GraphFormat(str, Enum):
    svg = "svg"
    png = "png"
    pdf = "pdf"
    graphml = "graphml"
    gexf = "gexf"
    json = "json"


PICTURES = (GraphFormat.svg, GraphFormat.png, GraphFormat.pdf)


def format_for(path: Path | None, given: str | None) -> GraphFormat:
    """The format asked for, else the one the output file's suffix names, else svg."""
    if given:
        try:
            return GraphFormat(given.lower())
        except ValueError:
            raise InputError(
                f"--format {given}: not a graph format", hint="use one of " + ", ".join(f.value for f in GraphFormat)
            ) from None
    if path is not None and path.suffix.lower().lstrip(".") in GraphFormat._value2member_map_:
        return GraphFormat(path.suffix.lower().lstrip("."))
    return GraphFormat.svg


def svg_to_pdf(svg: str) -> bytes:
    """A one-page PDF of the SVG at its own size (WeasyPrint; no URL is ever fetched)."""
    import weasyprint
    from weasyprint.urls import URLFetcher, URLFetchingError

    class _NoFetch(URLFetcher):  # graph pictures reference nothing; refuse anything that tries
        def fetch(self, url: str, headers: object = None) -> object:
            raise URLFetchingError(f"graph PDFs fetch nothing (refused {url[:40]})")

    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>graph</title><style>"
        f"@page {{ size: {WIDTH}px {HEIGHT}px; margin: 0 }} html, body {{ margin: 0 }}"
        f"</style></head><body>{svg}</body></html>"
    )
    return bytes(weasyprint.HTML(string=page, url_fetcher=_NoFetch()).write_pdf())


def svg_to_png(svg: str, scale: float = 2.0) -> bytes:
    """A PNG of the SVG (CairoSVG, external resources disabled), `scale` times its size."""
    try:
        import cairosvg
    except (ImportError, OSError):  # OSError: cairocffi found no libcairo on this system
        raise AuditKitError(
            "PNG output needs the cairosvg package and the cairo library",
            hint="pip install cairosvg (and apt-get install libcairo2), or use --format svg or pdf",
        ) from None
    return bytes(cairosvg.svg2png(bytestring=svg.encode("utf-8"), scale=scale, unsafe=False))


def graph_bytes(graph: AccessGraph, fmt: GraphFormat, max_nodes: int = DEFAULT_MAX_NODES) -> bytes:
    """The graph in a file format, as bytes."""
    if fmt in PICTURES:
        svg = render_svg(graph, max_nodes=max_nodes)
        if fmt is GraphFormat.svg:
            return svg.encode("utf-8")
        return svg_to_pdf(svg) if fmt is GraphFormat.pdf else svg_to_png(svg)
    if fmt is GraphFormat.json:
        return (json.dumps(graph.to_dict(), indent=2, default=str) + "\n").encode("utf-8")
    g = graph.to_networkx()
    lines = nx.generate_graphml(g) if fmt is GraphFormat.graphml else nx.generate_gexf(g)
    return ("\n".join(lines) + "\n").encode("utf-8")


def write_graph(graph: AccessGraph, path: Path, fmt: GraphFormat, max_nodes: int = DEFAULT_MAX_NODES) -> int:
    """Write the graph to `path` (parent created if missing); returns the bytes written."""
    data = graph_bytes(graph, fmt, max_nodes)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the graph: {exc.strerror}") from None
    return len(data)


__all__ = ["GraphFormat", "PICTURES", "format_for", "graph_bytes", "svg_to_pdf", "svg_to_png", "write_graph"]
