"""The organisation↔organisation interaction network and how it changed against the baseline.

Two bodies are tied by the children both accessed in the window (successful record events).
Each tie carries the children both bodies are involved with (expected) and how many of the
shared children lack an involvement at one end (unexplained), so a reviewer sees ties that the
care relationships do not account for. Ties are compared with the same-length period just
before the window: new, grown, vanished or stable.
"""

from __future__ import annotations

from audit_kit.graph.aggregates import count_rows, events_in, involvement_pairs
from audit_kit.graph.model import AccessGraph, Edge, Node
from audit_kit.graph.risk import FindingIndex
from audit_kit.graph.window import Window
from audit_kit.progress import NULL_PROGRESS, Progress
from audit_kit.store.workspace import Workspace

# A tie "grew" when it at least doubled and gained this many shared children (noise floor).
GROWTH_FACTOR = 2.0
GROWTH_FLOOR = 3


def _tie_counts(ws: Workspace, window: Window, inv_window: Window | None = None):  # noqa: ANN202
    """Per org pair (src < dst): observed shared children and, with `inv_window`, explained ones."""
    acc = events_in(ws, window).select("org_id", "record_id").distinct()
    other = acc.view()
    pairs = acc.join(other, [acc.record_id == other.record_id, acc.org_id < other.org_id]).select(
        src=acc.org_id, dst=other.org_id, record_id=acc.record_id
    )
    observed = pairs.group_by("src", "dst").aggregate(observed=pairs.count())
    if inv_window is None:
        return observed
    inv = involvement_pairs(ws, inv_window)
    inv_b = inv.view()
    # A shared child is explained when both bodies have an involvement with the child.
    e1 = pairs.join(inv, [pairs.record_id == inv.record_id, pairs.src == inv.org_id]).select(
        "src", "dst", "record_id"
    )
    e2 = e1.join(inv_b, [e1.record_id == inv_b.record_id, e1.dst == inv_b.org_id]).select("src", "dst")
    explained = e2.group_by("src", "dst").aggregate(explained=e2.count())
    inv_pairs = inv.join(inv_b, [inv.record_id == inv_b.record_id, inv.org_id < inv_b.org_id]).select(
        src=inv.org_id, dst=inv_b.org_id
    )
    expected = inv_pairs.group_by("src", "dst").aggregate(expected=inv_pairs.count())
    out = observed.left_join(explained, ["src", "dst"]).select(
        observed.src, observed.dst, observed.observed, explained=explained.explained.fill_null(0)
    )
    out = out.left_join(expected, ["src", "dst"]).select(
        out.src, out.dst, out.observed, out.explained, expected=expected.expected.fill_null(0)
    )
    return out


def _expected_only(ws: Workspace, window: Window, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Expected (shared involvement) counts for a few org pairs, e.g. ties that vanished."""
    if not pairs:
        return {}
    inv = involvement_pairs(ws, window)
    orgs = sorted({o for p in pairs for o in p})
    inv = inv.filter(inv.org_id.isin(orgs))
    inv_b = inv.view()
    j = inv.join(inv_b, [inv.record_id == inv_b.record_id, inv.org_id < inv_b.org_id]).select(
        src=inv.org_id, dst=inv_b.org_id
    )
    df = j.group_by("src", "dst").aggregate(expected=j.count()).to_pandas()
    return {(r.src, r.dst): int(r.expected) for r in df.itertuples() if (r.src, r.dst) in pairs}


def _edge_risk(observed: int, expected: int, baseline: int, status: str) -> str | None:
    """A drawing cue, not a finding: ties that appeared or grew without care relationships behind them.

    Stable ties stay uncoloured whatever their share of unexplained children: in practice many
    legitimate ties (safeguarding hubs, police, national partners) have no involvement behind them,
    so what a reviewer needs picked out is the change.
    """
    if status == "new":
        if observed >= 5 and expected == 0:
            return "high"
        return "medium" if observed >= 3 else None
    if status == "grown":
        if observed - baseline >= 10 and observed >= 3 * baseline and observed > 2 * expected:
            return "high"
        return "medium"
    return None


def _status(now: int, before: int) -> str:
    if before == 0 and now > 0:
        return "new"
    if now == 0 and before > 0:
        return "vanished"
    if now >= GROWTH_FACTOR * before and now - before >= GROWTH_FLOOR:
        return "grown"
    return "stable"


def org_network(
    ws: Workspace,
    window: Window,
    baseline: Window | None = None,
    min_shared: int = 1,
    progress: Progress = NULL_PROGRESS,
) -> AccessGraph:
    """The org↔org network of the window (default: the last 28 days of events) against its baseline.

    `baseline` defaults to the same-length period just before the window. Ties with fewer than
    `min_shared` shared children in both periods are left out. Node risk is the worst finding
    severity of the organisation in the window.
    """
    base = baseline or window.preceding()
    progress.start("organisation ties", total=4)
    now = _tie_counts(ws, window, inv_window=window).to_pandas()
    progress.advance()
    before = _tie_counts(ws, base).to_pandas()
    base_events = count_rows(ws, events_in(ws, base))
    progress.advance()

    ev = events_in(ws, window)
    inv = involvement_pairs(ws, window)
    acc = ev.select("org_id", "record_id").distinct()
    unexpl = acc.anti_join(inv, ["org_id", "record_id"])
    per_org = ev.group_by("org_id").aggregate(
        events=ev.count(), users=ev.user_id.nunique(), children=ev.record_id.nunique()
    )
    unexpl_n = unexpl.group_by("org_id").aggregate(unexplained_children=unexpl.count())
    org_df = per_org.left_join(unexpl_n, "org_id").select(
        per_org.org_id, per_org.events, per_org.users, per_org.children,
        unexplained=unexpl_n.unexplained_children.fill_null(0),
    ).to_pandas()
    orgs_ref = ws.table("organisations").select("org_id", "name", "type", "area").to_pandas()
    progress.advance()

    findings = FindingIndex.load(ws, window)
    ties: dict[tuple[str, str], dict[str, int]] = {}
    for r in now.itertuples():
        ties[(r.src, r.dst)] = {
            "observed": int(r.observed), "explained": int(r.explained), "expected": int(r.expected),
            "baseline": 0,
        }
    for r in before.itertuples():
        tie = ties.setdefault((r.src, r.dst), {"observed": 0, "explained": 0, "expected": -1, "baseline": 0})
        tie["baseline"] = int(r.observed)
    missing = {k for k, v in ties.items() if v["expected"] < 0}
    exp = _expected_only(ws, window, missing)
    for k in missing:
        ties[k]["expected"] = exp.get(k, 0)

    edges: list[Edge] = []
    for (src, dst), t in sorted(ties.items()):
        if max(t["observed"], t["baseline"]) < min_shared:
            continue
        unexplained = t["observed"] - t["explained"]
        status = _status(t["observed"], t["baseline"])
        edges.append(
            Edge(
                source=src, target=dst, kind="shared_children", weight=float(t["observed"]),
                risk=_edge_risk(t["observed"], t["expected"], t["baseline"], status), status=status,
                attrs={
                    "observed": t["observed"], "expected": t["expected"], "explained": t["explained"],
                    "unexplained": unexplained, "baseline": t["baseline"],
                    "change": t["observed"] - t["baseline"],
                },
            )
        )
    ref = {r.org_id: r for r in orgs_ref.itertuples()}
    stats = {r.org_id: r for r in org_df.itertuples()}
    node_ids = sorted(set(stats) | {e.source for e in edges} | {e.target for e in edges})
    nodes: list[Node] = []
    for oid in node_ids:
        info, st, touch = ref.get(oid), stats.get(oid), findings.org(oid)
        nodes.append(
            Node(
                id=oid, kind="org", label=oid, org=oid, risk=touch.risk, detectors=touch.names,
                count=int(st.children) if st is not None else 0,
                attrs={
                    "name": str(info.name) if info is not None else "",
                    "org_type": str(info.type) if info is not None else "",
                    "area": str(info.area) if info is not None else "",
                    "events": int(st.events) if st is not None else 0,
                    "users": int(st.users) if st is not None else 0,
                    "children": int(st.children) if st is not None else 0,
                    "unexplained_children": int(st.unexplained) if st is not None else 0,
                },
            )
        )
    progress.advance()
    progress.finish()
    notes = []
    if base_events == 0:
        notes.append(f"The baseline period ({base.label()}) holds no events, so every tie shows as new.")
    counts = {s: sum(1 for e in edges if e.status == s) for s in ("new", "grown", "vanished")}
    return AccessGraph(
        kind="orgs",
        title="Organisations linked by children both accessed",
        since=window.since, until=window.until, nodes=nodes, edges=edges, notes=notes,
        meta={
            "baseline_since": base.since.isoformat(), "baseline_until": base.until.isoformat(),
            "ties": len(edges), **{f"ties_{k}": v for k, v in counts.items()},
        },
    )
