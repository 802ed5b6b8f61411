"""Graph figures for the reports, drawn by `audit_kit.graph.figures` and sanitised here.

Public reports get only the organisation network (bodies, no users or records); restricted reports
add the ego network of the most serious flagged user and, in a pack, the body's user communities.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from audit_kit.errors import AuditKitError
from audit_kit.report.models import Audience, Figure
from audit_kit.report.safety import sanitise_svg
from audit_kit.workspace import Workspace

MAX_NODES = 120  # readable at A4 width; the graph module summarises the rest ("+42 users of LA003")


def _figure(ws: Workspace, title: str, caption: str, draw: Callable[[Workspace], str]) -> Figure:
    # The graph code runs on its own cursor of the same database: DuckDB 2 refuses relational (Ibis)
    # work on a connection that still holds a half-read result, which would otherwise leak between
    # the report's queries and the graph's.
    own = ws.cursor()
    try:
        svg = draw(own)
    except AuditKitError as exc:
        return Figure(title, empty=f"This graph could not be drawn: {exc}")
    finally:
        own.close()
    if not svg or not svg.strip():
        return Figure(title, empty="There was nothing to draw for this graph.")
    try:
        return Figure(title, sanitise_svg(svg), caption)
    except (ValueError, ET.ParseError):
        return Figure(
            title, empty="This graph was left out because its drawing did not pass the safety check."
        )


def _top_user(ws: Workspace, org_id: str | None = None) -> str | None:
    if not ws.has_table("findings"):
        return None
    where, params = ("AND org_id = ?", [org_id]) if org_id else ("", [])
    rows = ws.con.execute(
        f"SELECT user_id FROM findings WHERE user_id IS NOT NULL {where} "
        "GROUP BY user_id ORDER BY max(severity_rank) DESC, sum(score) DESC, user_id LIMIT 1",
        params,
    ).fetchall()
    return rows[0][0] if rows else None


def national_figures(ws: Workspace, audience: Audience) -> list[Figure]:
    """Figures for the national report's access-findings section."""
    from audit_kit.graph import figures as gf
    out = [
        _figure(
            ws,
            "Interaction between bodies",
            "Bodies whose staff accessed the same children in the period; edge width shows how many. Coloured "
            "ties are new or have grown since the baseline with no recorded involvements behind them.",
            lambda w: gf.org_network_svg(w, max_nodes=MAX_NODES),
        )
    ]
    if audience is Audience.RESTRICTED:
        user = _top_user(ws)
        if user is None:
            out.append(
                Figure(
                    "Around the most serious flagged user",
                    empty="No user-level findings are stored, so there is no flagged user to draw.",
                )
            )
        else:
            out.append(
                _figure(
                    ws,
                    f"Around flagged user {user}",
                    "Users, pseudonymised children and bodies within two steps of the user, with the detectors that "
                    "fired on each tie.",
                    lambda w: gf.ego_svg(w, user_id=user, max_nodes=MAX_NODES),
                )
            )
    return out


def org_figures(ws: Workspace, org_id: str, audience: Audience) -> list[Figure]:
    """Figures for one organisation's pack (restricted only: they name user accounts)."""
    if audience is not Audience.RESTRICTED:
        return []
    from audit_kit.graph import figures as gf

    return [
        _figure(
            ws,
            "Your users' access patterns",
            "Your users grouped by the areas and children they access; users who fit their group least are the "
            "ones the peer-outlier detector examines.",
            lambda w: gf.org_communities_svg(w, org_id, max_nodes=MAX_NODES),
        )
    ]
