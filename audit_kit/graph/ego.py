"""Ego networks: everything within two steps of a flagged user or a child's record.

* user ego: the user, their organisation, the children they read (pseudonymised), the other users
  who read those children and the bodies involved with them;
* record ego: the child (pseudonymised), every user who read it, their bodies, and the bodies
  involved with the child — so a famous child's record shows everyone who reached it.

Edges carry the detectors whose findings link both ends (a user's finding naming the record's
pseudonym in its evidence, or a record-level finding listing the user).
"""

from __future__ import annotations

import re
from typing import Any

from audit_kit.errors import InputError
from audit_kit.graph.aggregates import events_in, involvement_pairs
from audit_kit.graph.model import AccessGraph, Edge, Node, worst
from audit_kit.graph.popularity import record_popularity
from audit_kit.graph.risk import FindingIndex, Touch
from audit_kit.graph.window import Window
from audit_kit.progress import NULL_PROGRESS, Progress
from audit_kit.store.workspace import Workspace

_PSEUDONYM = re.compile(r"^R-[0-9a-f]{16}$")
# A user's ego shows at most this many of their children; the rest become one summary node.
MAX_EGO_RECORDS = 150


def resolve_record(ws: Workspace, ident: str) -> str:
    """The raw record id for a pseudonym (as findings and reports show it) or a raw id.

    The lookup runs in the engine, over subjects and then events. Raises InputError when no
    record matches; the message repeats only what the caller gave.
    """
    ident = ident.strip()
    for table in ("subjects", "events"):
        t = ws.table(table)
        col = t.record_id
        cond = ws.pseudonymise_expr(col) == ident if _PSEUDONYM.match(ident) else col == ident
        df = t.filter(col.notnull(), cond).select("record_id").distinct().limit(1).to_pandas()
        if len(df):
            return str(df.record_id.iloc[0])
    raise InputError(
        f"--id {ident}: no child's record with this id or pseudonym in the workspace",
        hint="give the pseudonym a finding or report shows (R-…), or the record id",
    )


def _check_user(ws: Workspace, user_id: str) -> None:
    for table in ("users", "events"):
        t = ws.table(table)
        if int(t.filter(t.user_id == user_id).limit(1).count().execute()):
            return
    raise InputError(f"--id {user_id}: no such user in the workspace's users or events")


def _org_nodes(ws: Workspace, org_ids: set[str], findings: FindingIndex, ring: dict[str, int]) -> list[Node]:
    if not org_ids:
        return []
    o = ws.table("organisations")
    df = o.filter(o.org_id.isin(sorted(org_ids))).select("org_id", "name", "type").to_pandas()
    info = {r.org_id: r for r in df.itertuples()}
    nodes = []
    for oid in sorted(org_ids):
        t = findings.org(oid)
        r = info.get(oid)
        nodes.append(
            Node(
                id=oid, kind="org", label=oid, org=oid, risk=t.risk, detectors=t.names, ring=ring.get(oid, 2),
                attrs={"name": str(r.name) if r is not None else "", "org_type": str(r.type) if r is not None else ""},
            )
        )
    return nodes


def _roles(ws: Workspace, user_ids: list[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    u = ws.table("users")
    df = u.filter(u.user_id.isin(user_ids)).select("user_id", "role").to_pandas()
    return {r.user_id: str(r.role) for r in df.itertuples()}


def _edge_touch(findings: FindingIndex, user_id: str, pseud: str) -> Touch:
    """Findings linking a user to a record: the user's own naming the record, or the record's naming the user."""
    touch = Touch()
    for f in findings.mentioning(pseud):
        if findings.mentions_user(f, user_id):
            touch.add(f)
    return touch


def _one_org_per_user(df: Any) -> Any:
    """Collapse (user, org) rows to one per user: a user seen under two bodies keeps the busier one."""
    if not len(df):
        return df
    org = df.sort_values(["user_id", "events", "org_id"], ascending=[True, False, True]).drop_duplicates("user_id")
    agg = df.groupby("user_id", as_index=False).agg(
        events=("events", "sum"), denied=("denied", "sum"), first=("first", "min"), last=("last", "max")
    )
    return agg.merge(org[["user_id", "org_id"]], on="user_id")


def _access_aggs(ev: Any, keys: list[str]) -> Any:
    return ev.group_by(keys).aggregate(
        events=ev.count(),
        denied=ev.count(where=ev.outcome != "success"),
        first=ev.timestamp.min(),
        last=ev.timestamp.max(),
    )


def ego_network(
    ws: Workspace,
    window: Window,
    user_id: str | None = None,
    record_id: str | None = None,
    max_records: int = MAX_EGO_RECORDS,
    progress: Progress = NULL_PROGRESS,
) -> AccessGraph:
    """The ego network of one user (`user_id`) or one child's record (`record_id`: pseudonym or raw id).

    Exactly one of the two must be given. Raises InputError for an unknown user or record.
    """
    if (user_id is None) == (record_id is None):
        raise InputError("give exactly one of a user id or a record id for an ego network")
    findings = FindingIndex.load(ws, window)
    progress.start("ego network", total=3)
    if record_id is not None:
        graph = _record_ego(ws, resolve_record(ws, record_id), window, findings, progress)
    else:
        assert user_id is not None
        _check_user(ws, user_id)
        graph = _user_ego(ws, user_id, window, findings, max_records, progress)
    progress.finish()
    return graph


def _record_ego(ws: Workspace, raw: str, window: Window, findings: FindingIndex, progress: Progress) -> AccessGraph:
    pseud = ws.pseudonymise(raw)
    assert pseud is not None
    ev = events_in(ws, window, successful=False)
    ev = ev.filter(ev.record_id == raw)
    readers = _one_org_per_user(_access_aggs(ev, ["user_id", "org_id"]).to_pandas())
    inv = involvement_pairs(ws, window)
    involved = set(inv.filter(inv.record_id == raw).org_id.to_pandas())
    progress.advance()
    pop = record_popularity(ws, window, top=1, record_id=raw)
    record_touch = Touch()
    for f in findings.mentioning(pseud):
        record_touch.add(f)
    nodes: list[Node] = [
        Node(
            id=pseud, kind="record", label=pseud, risk=record_touch.risk, detectors=record_touch.names,
            count=int(readers.events.sum()) if len(readers) else 0, pinned=True, ring=0,
            attrs={
                "users": pop[0].users if pop else 0, "orgs": pop[0].orgs if pop else 0,
                "baseline_users": pop[0].baseline_users if pop else 0,
                "baseline_orgs": pop[0].baseline_orgs if pop else 0,
            },
        )
    ]
    edges: list[Edge] = []
    roles = _roles(ws, sorted(readers.user_id))
    for r in readers.sort_values(["org_id", "user_id"]).itertuples():
        ut = findings.user(r.user_id)
        et = _edge_touch(findings, r.user_id, pseud)
        nodes.append(
            Node(
                id=f"user:{r.user_id}", kind="user", label=str(r.user_id), org=r.org_id, role=roles.get(r.user_id),
                risk=worst(ut.risk, et.risk), detectors=tuple(sorted(set(ut.names) | set(et.names))),
                count=int(r.events), ring=1,
            )
        )
        explained = r.org_id in involved
        edges.append(
            Edge(
                source=f"user:{r.user_id}", target=pseud, kind="accessed", weight=float(r.events), risk=et.risk,
                detectors=et.names, status="explained" if explained else "unexplained",
                attrs={"events": int(r.events), "denied": int(r.denied), "first": r.first.isoformat(),
                       "last": r.last.isoformat(), "explained": explained},
            )
        )
        edges.append(Edge(source=f"user:{r.user_id}", target=r.org_id, kind="member", weight=1.0))
    for oid in sorted(involved):
        edges.append(Edge(source=pseud, target=oid, kind="involved", weight=1.0))
    ring = {o: 1 for o in involved}
    nodes += _org_nodes(ws, set(readers.org_id) | involved, findings, ring)
    progress.advance()
    n_users = len(readers)
    n_unexpl = sum(1 for e in edges if e.kind == "accessed" and e.status == "unexplained")
    return AccessGraph(
        kind="record",
        title=f"Who reached child {pseud}",
        since=window.since, until=window.until, nodes=nodes, edges=edges,
        notes=[f"{n_users} users from {readers.org_id.nunique() if n_users else 0} bodies read this record; "
               f"{n_unexpl} of them from a body with no involvement with the child."],
        meta={"record": pseud, "users": n_users, "unexplained_users": n_unexpl},
    )


def _user_ego(
    ws: Workspace, user_id: str, window: Window, findings: FindingIndex, max_records: int, progress: Progress
) -> AccessGraph:
    ev = events_in(ws, window, successful=False)
    mine = ev.filter(ev.user_id == user_id)
    recs = _access_aggs(mine, ["record_id", "org_id"])
    recs = recs.mutate(record=ws.pseudonymise_expr(recs.record_id)).to_pandas()
    own_org = str(recs.org_id.mode().iloc[0]) if len(recs) else None
    if own_org is None:
        u = ws.table("users")
        df = u.filter(u.user_id == user_id).select("org_id").to_pandas()
        own_org = str(df.org_id.iloc[0]) if len(df) else None
    recs = recs.groupby(["record_id", "record"], as_index=False).agg(
        events=("events", "sum"), denied=("denied", "sum"), first=("first", "min"), last=("last", "max")
    )
    ego_touch = findings.user(user_id)
    # Children the user's findings name come first, then the most read.
    recs["flagged"] = [bool(_edge_touch(findings, user_id, p).detectors) for p in recs.record]
    recs = recs.sort_values(["flagged", "events", "record"], ascending=[False, False, True])
    shown, rest = recs.iloc[:max_records], recs.iloc[max_records:]
    progress.advance()

    raw_ids = sorted(shown.record_id)
    others = ev.filter(ev.record_id.isin(raw_ids), ev.user_id != user_id) if raw_ids else None
    other_df = _access_aggs(others, ["user_id", "org_id", "record_id"]).to_pandas() if others is not None else None
    inv = involvement_pairs(ws, window)
    inv_df = inv.filter(inv.record_id.isin(raw_ids)).to_pandas() if raw_ids else None
    progress.advance()

    pseud_of = dict(zip(shown.record_id, shown.record, strict=True))
    ego_id = f"user:{user_id}"
    nodes: list[Node] = [
        Node(
            id=ego_id, kind="user", label=user_id, org=own_org, role=_roles(ws, [user_id]).get(user_id),
            risk=ego_touch.risk, detectors=ego_touch.names, count=int(recs.events.sum()) if len(recs) else 0,
            pinned=True, ring=0,
        )
    ]
    edges: list[Edge] = []
    org_ids: set[str] = {own_org} if own_org else set()
    if own_org:
        edges.append(Edge(source=ego_id, target=own_org, kind="member", weight=1.0))
    involved_by_rec: dict[str, set[str]] = {}
    if inv_df is not None:
        for r in inv_df.itertuples():
            involved_by_rec.setdefault(r.record_id, set()).add(r.org_id)
    for r in shown.itertuples():
        rt = Touch()
        for f in findings.mentioning(r.record):
            rt.add(f)
        et = _edge_touch(findings, user_id, r.record)
        nodes.append(Node(id=r.record, kind="record", label=r.record, risk=rt.risk, detectors=rt.names,
                          count=int(r.events), ring=1))
        explained = own_org in involved_by_rec.get(r.record_id, set())
        edges.append(
            Edge(
                source=ego_id, target=r.record, kind="accessed", weight=float(r.events), risk=et.risk,
                detectors=et.names, status="explained" if explained else "unexplained",
                attrs={"events": int(r.events), "denied": int(r.denied), "first": r.first.isoformat(),
                       "last": r.last.isoformat(), "explained": explained},
            )
        )
        for oid in sorted(involved_by_rec.get(r.record_id, ())):
            org_ids.add(oid)
            edges.append(Edge(source=r.record, target=oid, kind="involved", weight=1.0))
    if len(rest):
        nodes.append(
            Node(id="summary:more-children", kind="summary", label=f"+{len(rest)} more children", count=int(rest.events.sum()),
                 ring=1, attrs={"summarises": "record", "members": len(rest)})
        )
        edges.append(Edge(source=ego_id, target="summary:more-children", kind="accessed", weight=float(rest.events.sum()),
                          attrs={"merged": len(rest)}))
    if other_df is not None and len(other_df):
        users = _one_org_per_user(other_df)
        roles = _roles(ws, sorted(users.user_id))
        for u in users.sort_values(["org_id", "user_id"]).itertuples():
            t = findings.user(u.user_id)
            nodes.append(Node(id=f"user:{u.user_id}", kind="user", label=str(u.user_id), org=u.org_id,
                              role=roles.get(u.user_id), risk=t.risk, detectors=t.names, count=int(u.events), ring=2))
            org_ids.add(u.org_id)
            edges.append(Edge(source=f"user:{u.user_id}", target=u.org_id, kind="member", weight=1.0))
        per_rec = other_df.groupby(["user_id", "record_id"], as_index=False).agg(
            events=("events", "sum"), denied=("denied", "sum"), orgs=("org_id", lambda s: set(s))
        )
        for r in per_rec.sort_values(["user_id", "record_id"]).itertuples():
            p = pseud_of[r.record_id]
            et = _edge_touch(findings, r.user_id, p)
            explained = bool(r.orgs & involved_by_rec.get(r.record_id, set()))
            edges.append(
                Edge(source=f"user:{r.user_id}", target=p, kind="accessed", weight=float(r.events), risk=et.risk,
                     detectors=et.names, status="explained" if explained else "unexplained",
                     attrs={"events": int(r.events), "denied": int(r.denied), "explained": explained})
            )
    ring = {own_org: 1} if own_org else {}
    nodes += _org_nodes(ws, org_ids, findings, ring)
    progress.advance()
    n_unexpl = sum(1 for e in edges if e.source == ego_id and e.kind == "accessed" and e.status == "unexplained")
    return AccessGraph(
        kind="user",
        title=f"Access around user {user_id}",
        since=window.since, until=window.until, nodes=nodes, edges=edges,
        notes=[f"{user_id} read {len(recs)} children in the window, {n_unexpl} of those shown without an "
               f"involvement of their body."],
        meta={"user": user_id, "children": len(recs), "children_shown": len(shown)},
    )

