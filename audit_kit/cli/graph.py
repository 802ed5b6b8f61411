"""`audit-kit graph`: draw or export a graph of risky access patterns from a workspace."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import typer

from audit_kit.app.context import RunContext, resolve
from audit_kit.cli._common import ConfigOption, QuietOption, WorkspaceOption, is_quiet, progress_for, stderr
from audit_kit.errors import InputError
from audit_kit.graph import ego_network, org_communities, org_network, record_popularity, resolve_window
from audit_kit.graph.export import (
    DEFAULT_MAX_NODES,
    PICTURES,
    GraphFormat,
    format_for,
    graph_bytes,
    write_graph,
)
from audit_kit.graph.model import AccessGraph
from audit_kit.store.ingest import org_ids
from audit_kit.store.workspace import Workspace


class GraphKind(str, Enum):
    orgs = "orgs"
    org = "org"
    user = "user"
    record = "record"


_ID_HELP = {
    GraphKind.org: "an organisation id, e.g. LA001",
    GraphKind.user: "a user id",
    GraphKind.record: "a child's record pseudonym as findings show it (R-…), or the record id",
}


def _known_orgs(ws: Workspace) -> str:
    return ", ".join(org_ids(ws)[:8]) or "none: ingest organisations.csv first"


def build(ctx: RunContext, ws: Workspace, kind: GraphKind, ident: str | None, since: str | None,
          until: str | None, quiet: bool) -> AccessGraph:
    """Build the graph the options ask for (the CLI's one call into the library)."""
    window = resolve_window(ws, since, until, days=ctx.config.window_days)
    if kind is GraphKind.orgs:
        if ident:
            raise InputError("--id is not used with --kind orgs (the network of all organisations)")
    elif not ident:
        hint = f"give {_ID_HELP[kind]}"
        if kind is GraphKind.org:
            hint += f"; organisations: {_known_orgs(ws)}"
        elif kind is GraphKind.record:
            top = record_popularity(ws, window, top=3)
            if top:
                hint += "; most-read this window: " + ", ".join(
                    f"{p.record} ({p.users} users, {p.orgs} bodies)" for p in top
                )
        raise InputError(f"--kind {kind.value} needs --id", hint=hint)
    progress = progress_for(quiet)
    try:
        if kind is GraphKind.orgs:
            return org_network(ws, window, progress=progress)
        if kind is GraphKind.org:
            assert ident is not None
            return org_communities(ws, ident, window, ctx.config, progress=progress)
        if kind is GraphKind.user:
            return ego_network(ws, window, user_id=ident, progress=progress)
        return ego_network(ws, window, record_id=ident, progress=progress)
    finally:
        progress.finish()


def graph(
    workspace: Path = WorkspaceOption,
    kind: GraphKind = typer.Option(GraphKind.orgs, "--kind", "-k", help="orgs, org, user or record."),
    ident: str | None = typer.Option(None, "--id", help="The organisation, user or record (pseudonym) to draw."),
    since: str | None = typer.Option(None, "--since", help="Window start, ISO date (default: as `detect`)."),
    until: str | None = typer.Option(None, "--until", help="Window end, exclusive (default: after the last event)."),
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="svg, png, pdf, graphml, gexf or json (default: from -o's suffix, else svg)."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="File to write (svg/graphml/gexf/json: stdout if omitted)."),
    max_nodes: int = typer.Option(
        DEFAULT_MAX_NODES, "--max-nodes", min=10, max=2000, help="Pictures: summarise the rest as '+N users of ORG'."
    ),
    config: Path | None = ConfigOption,
    quiet: bool = QuietOption,
) -> int:
    """Draw (svg, png, pdf) or export (graphml, gexf, json) a graph of who reached whom.

    Kinds: orgs — organisations tied by children both accessed, with new/grown/vanished ties against the baseline period; org — one organisation's users, the areas they read, their peer communities and fit; user / record — everything within two steps of a flagged user or a child's record (pseudonymised), edges labelled with the detectors that fired.

    Example: audit-kit graph --workspace ./ws --kind record --id R-3f9a1c0d2b7e4a51 -o vip.svg
    """
    chosen = format_for(output, fmt)
    if output is None and chosen in (GraphFormat.png, GraphFormat.pdf):
        raise InputError(f"--format {chosen.value} writes a binary file: give -o FILE")
    ctx = resolve(workspace, config)
    # Read-only: drawing never changes the workspace, and several graph commands may run at once.
    with ctx.open_workspace(read_only=True) as ws:
        g = build(ctx, ws, kind, ident, since, until, quiet)
    if output is None:
        sys.stdout.write(graph_bytes(g, chosen, max_nodes=max_nodes).decode("utf-8"))
        return 0
    write_graph(g, output, chosen, max_nodes=max_nodes)
    if not is_quiet(quiet):
        shown = " (picture summarised to --max-nodes)" if chosen in PICTURES and len(g.nodes) > max_nodes else ""
        stderr.print(f"wrote {output}: {len(g.nodes)} nodes, {len(g.edges)} edges{shown}")
    return 0


def register(app: typer.Typer) -> None:
    app.command("graph")(graph)
