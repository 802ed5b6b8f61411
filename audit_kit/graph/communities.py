"""Per organisation: its users, the areas whose children they read, their communities and fit.

Users are also linked to the few colleagues they share the most children with, so the teams show.

Communities and fit come from `audit_kit.detectors.peer.user_community_fit`, the communities the
`peer_outlier` detector learns and keeps, so the picture and the finding never disagree. This module only
adds the user → area edges (distinct children of each home area a user read) and draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from audit_kit.config import AuditConfig
from audit_kit.detectors.peer import user_community_fit
from audit_kit.errors import InputError
from audit_kit.graph.aggregates import events_in
from audit_kit.graph.model import AccessGraph, Edge, Node
from audit_kit.graph.risk import FindingIndex
from audit_kit.graph.window import Window
from audit_kit.progress import NULL_PROGRESS, Progress
from audit_kit.store.workspace import Workspace

# How many of the worst-fitting users get a visible label with their fit.
LABEL_LOWEST_FIT = 5
# Each user is linked to this many colleagues they share the most children with (the team structure).
PEER_LINKS = 3
UNKNOWN_AREA = "(no home area)"


def _community_fit(ws: Workspace, since: datetime, until: datetime, org_id: str | None,
                   config: AuditConfig) -> pd.DataFrame:
    """The peer detector's user → community fit for one organisation: `user_community_fit`, judged against
    the communities `peer_outlier` learns from the baseline and keeps (so the picture and the finding
    never disagree, and a kept baseline serves both). `config` is the run's: under the configuration
    `detect` ran with, the picture reads the very statistics it kept instead of learning them again."""
    fit = user_community_fit(ws, config, since, until, org_id=org_id)
    return fit.reset_index(drop=True)


def community_fits(ws: Workspace, window: Window, config: AuditConfig, org_id: str | None = None) -> pd.DataFrame:
    """Every organisation's user → community fit over `window` at once (what `org_communities` would
    read for each organisation): for callers drawing many organisations, such as the DPO packs, which
    then read the kept communities once instead of once per pack. `org_id`: that organisation's only."""
    return _community_fit(ws, window.since, window.until, org_id, config)


@dataclass(frozen=True)
class OrgAccess:
    """What one organisation's community graph reads of its events in a window (`org_access`)."""

    name: str
    area: str  # the organisation's own area
    user_areas: pd.DataFrame  # user_id, area, children (distinct), events
    roles: dict[str, str]  # user_id -> role, for the organisation's users
    area_children: pd.DataFrame  # area, children (distinct, all users together)
    pairs: pd.DataFrame  # u < v, shared: children both users read


def org_access(ws: Workspace, window: Window, org_ids: Sequence[str]) -> dict[str, OrgAccess]:
    """`OrgAccess` of each of `org_ids` that exists, read in five grouped queries whatever their number: a
    batch of DPO packs reads them once instead of five queries a pack (each compiled by Ibis, which cost
    more than running it: benchmarks/PACKS.md)."""
    ids = sorted(set(org_ids))
    o = ws.table("organisations")
    info = o.filter(o.org_id.isin(ids)).select("org_id", "name", "area").to_pandas()
    if not len(info):
        return {}
    ev = events_in(ws, window)
    ev = ev.filter(ev.org_id.isin(ids))
    s = ws.table("subjects").select("record_id", "home_area")
    j = ev.left_join(s, ev.record_id == s.record_id)
    j = j.mutate(area=j.home_area.fill_null(UNKNOWN_AREA))
    ua = j.group_by("org_id", "user_id", "area").aggregate(children=j.record_id.nunique(), events=j.count()).to_pandas()
    ac = j.group_by("org_id", "area").aggregate(children=j.record_id.nunique()).to_pandas()
    u = ws.table("users")
    roles = u.filter(u.org_id.isin(ids)).select("org_id", "user_id", "role").to_pandas()
    acc = ev.select("org_id", "user_id", "record_id").distinct()
    other = acc.view()
    pj = acc.join(other, [acc.org_id == other.org_id, acc.record_id == other.record_id,
                          acc.user_id < other.user_id]).select(org_id=acc.org_id, u=acc.user_id, v=other.user_id)
    pairs = pj.group_by("org_id", "u", "v").aggregate(shared=pj.count()).to_pandas()

    def part(df: pd.DataFrame, org: str, cols: list[str]) -> pd.DataFrame:
        return df.loc[df["org_id"] == org, cols].reset_index(drop=True)

    return {
        str(r.org_id): OrgAccess(
            name=str(r.name), area=str(r.area),
            user_areas=part(ua, r.org_id, ["user_id", "area", "children", "events"]),
            roles={str(x.user_id): str(x.role) for x in part(roles, r.org_id, ["user_id", "role"]).itertuples()},
            area_children=part(ac, r.org_id, ["area", "children"]),
            pairs=part(pairs, r.org_id, ["u", "v", "shared"]),
        )
        for r in info.itertuples()
    }


def org_communities(
    ws: Workspace,
    org_id: str,
    window: Window,
    config: AuditConfig,
    progress: Progress = NULL_PROGRESS,
    fits: pd.DataFrame | None = None,
    findings: FindingIndex | None = None,
    access: OrgAccess | None = None,
) -> AccessGraph:
    """Users of `org_id` → areas of the children they read, with each user's community and fit.

    `config` is the run's configuration: community fit learns from its `baseline_days` before the window,
    with its `peer_outlier` settings, as the detector does. `fits`: `community_fits` of the same window and
    configuration, read once for many organisations (default: read for this one); `access`: what
    `org_access` read of this organisation's events (default: read for this one). Raises InputError when
    the organisation is unknown.
    """
    if access is None:
        access = org_access(ws, window, [org_id]).get(org_id)
    if access is None:
        o = ws.table("organisations")
        known = sorted(o.select("org_id").to_pandas().org_id)[:10]
        raise InputError(
            f"--id {org_id}: no such organisation in the workspace",
            hint="known organisations include " + ", ".join(known) if known else "ingest organisations.csv first",
        )
    progress.start("organisation communities", total=2)
    fit = _community_fit(ws, window.since, window.until, org_id, config) if fits is None else fits
    progress.advance()
    ua, roles = access.user_areas, access.roles

    if findings is None:
        findings = FindingIndex.load(ws, window)
    fit = fit[fit["org_id"] == org_id] if "org_id" in fit.columns else fit
    # Fit is NaN (None here) for a user with no baseline, or whose children nobody read before.
    fit_of: dict[str, tuple[str, float | None]] = {
        str(r.user_id): ("" if pd.isna(r.community) else str(r.community), None if pd.isna(r.fit) else float(r.fit))
        for r in fit.itertuples()
    }
    users = sorted(set(ua.user_id) | set(fit_of))
    # Rank fit within the organisation: 1 = the worst-fitting user.
    order = sorted((uid for uid, (_, f) in fit_of.items() if f is not None), key=lambda uid: (fit_of[uid][1], uid))
    rank = {uid: i + 1 for i, uid in enumerate(order)}
    events_of = ua.groupby("user_id").events.sum().to_dict() if len(ua) else {}
    nodes: list[Node] = []
    for uid in users:
        t = findings.user(uid)
        community, f = fit_of.get(uid, ("", None))
        attrs: dict[str, Any] = {"community": community}
        label = uid
        if f is not None:
            attrs |= {"fit": round(f, 4), "fit_rank": rank[uid]}
            if rank[uid] <= LABEL_LOWEST_FIT:
                label = f"{uid} (fit {f:.2f})"
        elif uid in fit_of:
            attrs["fit_note"] = "no fit: no baseline, or children nobody in the organisation read before"
        nodes.append(Node(id=f"user:{uid}", kind="user", label=label, org=org_id, role=roles.get(uid),
                          risk=t.risk, detectors=t.names, count=int(events_of.get(uid, 0)), attrs=attrs))
    for r in access.area_children.sort_values("area").itertuples():
        nodes.append(Node(id=f"area:{r.area}", kind="area", label=str(r.area), count=int(r.children),
                          attrs={"home_area_of_org": r.area == access.area}))
    edges = [
        Edge(source=f"user:{r.user_id}", target=f"area:{r.area}", kind="read_children_of", weight=float(r.children),
             attrs={"children": int(r.children), "events": int(r.events)})
        for r in ua.sort_values(["user_id", "area"]).itertuples()
    ]
    edges += _peer_edges(access.pairs, PEER_LINKS)
    progress.advance()
    progress.finish()
    n_comm = len({c for c, _ in fit_of.values() if c})
    return AccessGraph(
        kind="org",
        title=f"{org_id}: users, the areas they read, and their communities",
        since=window.since, until=window.until, nodes=nodes, edges=edges,
        notes=[f"{len(users)} users in {n_comm} communities; the {min(LABEL_LOWEST_FIT, len(order))} "
               "worst-fitting users are labelled with their fit (0 = unlike every peer, 1 = typical)."],
        meta={"org": org_id, "name": access.name, "communities": n_comm, "users": len(users)},
    )


def _peer_edges(pairs: pd.DataFrame, k: int) -> list[Edge]:
    """Each user's `k` colleagues by children both read in the window (`pairs`: u < v, shared)."""
    if not len(pairs):
        return []
    both = pd.concat([pairs, pairs.rename(columns={"u": "v", "v": "u"})], ignore_index=True)
    both = both.sort_values(["u", "shared", "v"], ascending=[True, False, True])
    top = both.groupby("u", sort=True).head(k)
    keep = {tuple(sorted((r.u, r.v))): int(r.shared) for r in top.itertuples()}
    return [
        Edge(source=f"user:{a}", target=f"user:{b}", kind="shares_children", weight=float(n),
             attrs={"children": n})
        for (a, b), n in sorted(keep.items())
    ]
