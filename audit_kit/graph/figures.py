"""SVG strings of the standard graphs, for the report renderer (vector, crisp in the PDF).

Each function builds the graph from engine aggregates and draws it with the same seeded layout,
so a report re-rendered from the same workspace shows the same pictures.
"""

from __future__ import annotations

import pandas as pd

from audit_kit.config import AuditConfig
from audit_kit.graph.communities import OrgAccess, org_communities
from audit_kit.graph.ego import ego_network
from audit_kit.graph.export import DEFAULT_MAX_NODES
from audit_kit.graph.orgs import org_network
from audit_kit.graph.risk import FindingIndex
from audit_kit.graph.svg import render_svg
from audit_kit.graph.window import Window
from audit_kit.store.workspace import Workspace


def org_network_svg(ws: Workspace, window: Window, max_nodes: int = DEFAULT_MAX_NODES) -> str:
    """The organisation↔organisation network (ties new, grown, vanished against the baseline) as SVG."""
    return render_svg(org_network(ws, window), max_nodes=max_nodes)


def org_communities_svg(ws: Workspace, org_id: str, window: Window, config: AuditConfig,
                        max_nodes: int = DEFAULT_MAX_NODES, fits: pd.DataFrame | None = None,
                        findings: FindingIndex | None = None, access: OrgAccess | None = None) -> str:
    """One organisation's users → areas, outlined by community, worst-fitting users labelled, as SVG
    (`fits`: every organisation's community fit read once, `graph.communities.community_fits`; `findings`:
    the window's FindingIndex, loaded once for many organisations; `access`: `graph.communities.org_access`
    read once for many)."""
    return render_svg(org_communities(ws, org_id, window, config, fits=fits, findings=findings, access=access),
                      max_nodes=max_nodes)


def ego_svg(ws: Workspace, window: Window, user_id: str | None = None, record_id: str | None = None,
            max_nodes: int = DEFAULT_MAX_NODES) -> str:
    """The two-step ego network of a user or a child's record (pseudonym or raw id) as SVG.

    Raises InputError for an unknown user or record; record ids appear only as pseudonyms.
    """
    return render_svg(ego_network(ws, window, user_id=user_id, record_id=record_id), max_nodes=max_nodes)
