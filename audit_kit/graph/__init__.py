"""Graphs of risky access patterns, built from engine aggregates, laid out, drawn and exported.

Layers: `window` (time windows), `model` (the typed AccessGraph every builder returns), builders
(`orgs`, `communities`, `ego`, `popularity`), `layout` (seeded positions), `svg` (the drawing),
`export` (svg/png/pdf/graphml/gexf/json files) and `figures` (SVG strings for the report renderer).
"""

from audit_kit.graph.communities import org_communities
from audit_kit.graph.ego import ego_network
from audit_kit.graph.model import AccessGraph, Edge, Node
from audit_kit.graph.orgs import org_network
from audit_kit.graph.popularity import RecordPopularity, record_popularity
from audit_kit.graph.window import Window, resolve_window

__all__ = [
    "AccessGraph",
    "Edge",
    "Node",
    "RecordPopularity",
    "Window",
    "ego_network",
    "org_communities",
    "org_network",
    "record_popularity",
    "resolve_window",
]
