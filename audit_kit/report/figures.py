"""Graph figures for the reports, drawn by `audit_kit.graph.figures` and sanitised here.

Public reports get only the organisation network (bodies, no users or records); restricted reports
add the ego network of the most serious flagged user and, in a pack, the body's user communities.

For many packs at once, `EventSlice` lets the community graphs of a batch of organisations be drawn
over a copy of just their events, instead of each graph scanning every event in the workspace.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence

import pandas as pd

from audit_kit.config import AuditConfig
from audit_kit.errors import AuditKitError
from audit_kit.graph import figures as gf
from audit_kit.graph.communities import OrgAccess, org_access
from audit_kit.graph.orgs import org_network
from audit_kit.graph.risk import FindingIndex
from audit_kit.graph.svg import render_svg
from audit_kit.graph.window import Window, resolve_window
from audit_kit.report.models import Audience, Figure, Table
from audit_kit.report.safety import sanitise_svg
from audit_kit.store.findings import most_serious_user
from audit_kit.store.workspace import Workspace

MAX_EGO_NODES = 45  # around one user: beyond this the picture is a hairball
MAX_NODES = 120  # readable at A4 width; the graph module summarises the rest ("+42 users of LA003")


def _figure(
    ws: Workspace,
    title: str,
    caption: str,
    draw: Callable[[Workspace], str],
    on: Workspace | None = None,
) -> Figure:
    # The graph code runs on its own cursor of the same database (or on `on`, an EventSlice's cursor):
    # DuckDB 2 refuses relational (Ibis) work on a connection that still holds a half-read result,
    # which would otherwise leak between the report's queries and the graph's.
    own = on if on is not None else ws.cursor()
    try:
        svg = draw(own)
    except AuditKitError as exc:
        return Figure(title, empty=f"This graph could not be drawn: {exc}")
    finally:
        if on is None:
            own.close()
    if not svg or not svg.strip():
        return Figure(title, empty="There was nothing to draw for this graph.")
    try:
        return Figure(title, sanitise_svg(svg), caption)
    except (ValueError, ET.ParseError):
        return Figure(
            title, empty="This graph was left out because its drawing did not pass the safety check."
        )


def national_figures(ws: Workspace, audience: Audience, config: AuditConfig) -> list[Figure]:
    """Figures for the national report's access-findings section, over the window `detect` judges by
    default under `config`."""
    try:
        window = resolve_window(ws, days=config.window_days)
    except AuditKitError as exc:
        return [Figure("Interaction between bodies", empty=f"This graph could not be drawn: {exc}")]
    out = [_org_ties(ws, window)]
    if audience is Audience.RESTRICTED:
        user = most_serious_user(ws)
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
                    lambda w: gf.ego_svg(w, window, user_id=user, max_nodes=MAX_EGO_NODES),
                )
            )
    return out


MAX_DRAWN_TIES = 30  # more ties than this make a hairball: the report ranks them in a table instead
MAX_TIE_ROWS = 15


def _org_ties(ws: Workspace, window: Window) -> Figure:
    """Ties between bodies (children both accessed): drawn when few, ranked in a table when many."""
    title = "Interaction between bodies"
    cur = ws.cursor()
    try:
        graph = org_network(cur, window)
    except AuditKitError as exc:
        return Figure(title, empty=f"This graph could not be drawn: {exc}")
    finally:
        cur.close()
    edges = sorted(graph.edges, key=lambda e: (-int(e.attrs.get("unexplained", 0) or 0), -e.weight,
                                               e.source, e.target))
    rows = [[e.source, e.target, f"{int(e.weight):,}", f"{int(e.attrs.get('explained', 0) or 0):,}",
             f"{int(e.attrs.get('unexplained', 0) or 0):,}", f"{int(e.attrs.get('baseline', 0) or 0):,}",
             e.status or "steady"] for e in edges[:MAX_TIE_ROWS]]
    table = Table(["Body", "Body", "Children both accessed", "Explained by involvements", "Unexplained",
                   "In the baseline", "Change"], rows, empty="No two bodies accessed the same child.",
                  caption=f"The {len(rows)} ties with the most unexplained shared children, of {len(edges)}")
    if len(edges) > MAX_DRAWN_TIES:
        return Figure(title, table=table, empty=f"{len(edges)} ties between bodies are too many to draw readably; "
                                                "the table ranks those with the most children no involvement "
                                                "explains.")
    try:
        svg = sanitise_svg(render_svg(graph, max_nodes=MAX_NODES))
    except (ValueError, ET.ParseError):
        return Figure(title, table=table, empty="The drawing was left out: it did not pass the safety check.")
    return Figure(title, svg, "Bodies whose staff accessed the same children in the period; edge width shows how "
                              "many. Coloured ties are new or have grown since the baseline with no recorded "
                              "involvements behind them.", table=table)


def org_figures(
    ws: Workspace,
    org_id: str,
    audience: Audience,
    config: AuditConfig,
    window: Window | None = None,
    events: EventSlice | None = None,
    fits: pd.DataFrame | None = None,
) -> list[Figure]:
    """Figures for one organisation's pack (restricted only: they name user accounts).

    `window` is the graphs' window when the caller has already resolved it (`pack_window`); `events`
    an EventSlice holding this organisation's events in that window (and its findings); `fits` every
    organisation's community fit over that window (`pack_fits`), read once for all packs.
    """
    if audience is not Audience.RESTRICTED:
        return []
    if events is not None and org_id not in events.org_ids:
        events = None  # an organisation outside the batch is drawn over every event
    if events is not None and window != events.window:
        raise ValueError("an EventSlice is drawn over the window it holds (pack_window, resolved over every event)")
    if events is not None and fits is None:
        # The slice holds the window's events only: the fit's baseline is read from every event.
        fits = pack_fits(ws, config, window, org_id)
        if fits is None:
            events = None  # not readable: drawn over every event, where the figure says why
    on = events.workspace if events is not None else None
    index = events.findings if events is not None else None
    access = events.access.get(org_id) if events is not None else None
    if window is None:
        window = pack_window(ws, config)
    if window is None:
        return [Figure("Your users' access patterns", empty="This graph could not be drawn: no events.")]
    resolved = window
    return [
        _figure(
            ws,
            "Your users' access patterns",
            "Your users grouped by the areas and children they access; users who fit their group least are the "
            "ones the peer-outlier detector examines.",
            lambda w: gf.org_communities_svg(w, org_id, resolved, config, max_nodes=MAX_NODES, fits=fits,
                                             findings=index, access=access),
            on=on,
        )
    ]


def pack_fits(ws: Workspace, config: AuditConfig, window: Window | None, org_id: str | None = None
              ) -> pd.DataFrame | None:
    """Every organisation's user → community fit over the packs' window, read once in the parent for all
    packs (a quarter of a pack's time went on reading the peer detector's kept communities again for
    each one: benchmarks/PACKS.md); with `org_id`, that organisation's only. None when there is no window
    or it cannot be read: each pack then reads its own, and its figure says why if that fails too."""
    if window is None:
        return None
    from audit_kit.graph.communities import community_fits

    try:
        return community_fits(ws, window, config, org_id)
    except AuditKitError:
        return None


def pack_window(ws: Workspace, config: AuditConfig) -> Window | None:
    """The graphs' default window over every event, resolved once for all packs (None: no events)."""
    try:
        return resolve_window(ws, days=config.window_days)
    except AuditKitError:
        return None  # each pack's figure then says why it could not be drawn


class EventSlice:
    """A cursor on which the table `events` holds only some organisations' events in one window.

    A temporary table of that name, visible to this cursor alone, stands in front of the stored one;
    every other table is the workspace's own. The pack graph (`org_communities`) reads nothing but
    its organisation's own events in the graphs' window, so drawing it here gives the very same picture,
    while the scan of all events is made once per batch instead of once per query per organisation (four
    or five full scans each). The window must be resolved over every event first (`pack_window`): on the
    slice, the first and last event would be the batch's. The slice also holds the window's findings
    (`findings`, read once per batch, not once per pack) and what each organisation's graph reads of its
    events (`access`: five grouped queries per batch instead of five a pack). Tests compare both drawings.
    """

    def __init__(self, ws: Workspace) -> None:
        self.workspace = ws.cursor()
        self.org_ids: frozenset[str] = frozenset()
        self.window: Window | None = None
        self._findings: FindingIndex | None = None
        self._access: dict[str, OrgAccess] | None = None

    def load(self, org_ids: Sequence[str], window: Window) -> None:
        """Hold the events of `org_ids` in `window` (replacing the previous batch)."""
        con = self.workspace.con
        con.execute("DROP TABLE IF EXISTS temp.events")
        self.org_ids = frozenset()
        self._access = None
        if window != self.window:
            self._findings = None
        self.window = window
        if not org_ids:
            return
        # Literal values: DuckDB pushes a constant IN list into the scan of the stored table.
        values = ", ".join("'" + o.replace("'", "''") + "'" for o in sorted(set(org_ids)))
        stored = con.execute("SELECT current_database()").fetchall()[0][0].replace('"', '""')
        con.execute(
            f'CREATE TEMP TABLE events AS SELECT * FROM "{stored}".main.events WHERE org_id IN ({values})'
            " AND timestamp >= ? AND timestamp < ?", [window.since, window.until]
        )
        self.org_ids = frozenset(org_ids)

    @property
    def findings(self) -> FindingIndex:
        """The stored findings overlapping the slice's window (the graphs' colours), read once."""
        if self.window is None:
            raise ValueError("load the slice first")
        if self._findings is None:
            self._findings = FindingIndex.load(self.workspace, self.window)
        return self._findings

    @property
    def access(self) -> dict[str, OrgAccess]:
        """Each organisation's `OrgAccess` over the slice (`graph.communities.org_access`), read once."""
        if self.window is None:
            raise ValueError("load the slice first")
        if self._access is None:
            self._access = org_access(self.workspace, self.window, sorted(self.org_ids))
        return self._access

    def close(self) -> None:
        try:
            self.workspace.con.execute("DROP TABLE IF EXISTS temp.events")
        finally:
            self.workspace.close()
