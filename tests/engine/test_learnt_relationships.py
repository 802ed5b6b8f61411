"""The relationship detectors learn their baseline once per epoch and still count what both periods at once give.

A baseline read counts as unexplained unless a colleague (same organisation and role) read the child in the
baseline *or the window*, or the reader worked on the child's record before the window. The kept baseline
holds the counts as the baseline alone explains them; the run subtracts the reads the window explains after
all (`DetectionContext.baseline_flips`). Here that is checked against the plain definition, computed in
pandas from both periods and the raw events, on the mini world with extra reads that make such flips happen.
Also: a workspace of schema 4 (no `agg_records.n_work`) upgrades and rebuilds its aggregates at first use.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from det_miniworld import build

from audit_kit.config import AuditConfig
from audit_kit.detectors import run_detectors
from audit_kit.detectors.context import BASELINE, WINDOW, DetectionContext
from audit_kit.detectors.relationship import ExcessParams, unexplained_excess
from audit_kit.engine.aggregates import rebuild
from audit_kit.store import aggregates as agg_store
from audit_kit.store import migrations
from audit_kit.store.workspace import Workspace


def _add_flips(ws: Workspace, ctx: DetectionContext) -> int:
    """Reads that change a baseline read's explanation from the window: for unexplained baseline reads read
    by no colleague, a colleague (same org and role) reads the child in the window, or the reader updates the
    record in the days between the baseline and the window. Returns how many were added."""
    x = ctx.baseline_xc().to_pandas()
    alone = x[~x.explained & ~x.colleague & ~x.worked & ~x.allowed].sort_values(["user_id", "record_id"])
    users = ctx.users.select("user_id", "user_org", "role").to_pandas()
    rows = []
    for i, r in enumerate(alone.head(40).itertuples(index=False)):
        if i % 2 == 0:  # a colleague in the window
            mates = users[(users.user_org == r.org_id) & (users.role == r.role) & (users.user_id != r.user_id)]
            if mates.empty:
                continue
            who, when, action = mates.user_id.iloc[0], ctx.since + timedelta(days=2, hours=10), "view"
        else:  # work on the record after the baseline, before the window
            if ctx.since <= ctx.baseline_end:
                continue
            who, when, action = r.user_id, ctx.baseline_end + timedelta(hours=11), "update"
        rows.append((f"flip-{i}", when, when, who, r.org_id, r.record_id, action))
    ws.con.executemany(
        "INSERT INTO events (event_id, timestamp, local_time, user_id, org_id, record_id, action, outcome, batch_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 'success', 'flips')", rows)
    return len(rows)


def _reference(ctx: DetectionContext) -> pd.DataFrame:
    """Per user and org: baseline records and unexplained ones (no_relationship, default params) by the plain
    definition: colleagues over both periods, work from the raw events up to the window."""
    x = pd.concat([ctx.user_record_x(BASELINE).to_pandas(), ctx.user_record_x(WINDOW).to_pandas()])
    readers = x.groupby(["org_id", "role", "record_id"]).user_id.nunique().rename("readers").reset_index()
    x = x.merge(readers, on=["org_id", "role", "record_id"])
    e = ctx.table("events").to_pandas()
    e = e[(e.timestamp >= ctx.baseline_start) & (e.timestamp < ctx.since) & e.record_id.notna()
          & (e.outcome == "success") & e.action.isin(["create", "update"])]
    worked = set(zip(e.user_id, e.record_id, strict=True))
    b = x[(x.period == BASELINE) & ~x.allowed].copy()
    b["worked"] = [(u, r) in worked for u, r in zip(b.user_id, b.record_id, strict=True)]
    b["hit"] = ~b.explained & (b.readers < 2) & ~b.worked
    return b.groupby(["user_id", "org_id"]).agg(b_recs=("hit", "size"), b_hits=("hit", "sum")).reset_index()


# A Wednesday: the window starts two days into its baseline epoch, so there are days between.
SINCE = datetime(2026, 4, 1)


def test_learnt_baseline_counts_equal_counting_both_periods(tmp_path) -> None:
    ws = Workspace.open(tmp_path / "ws", create=True)
    build(ws)
    config = AuditConfig()
    ctx = DetectionContext.build(ws, config, SINCE, None)
    assert ctx.since > ctx.baseline_end, "the window should start inside its epoch (days between)"
    added = _add_flips(ws, ctx)
    ctx.cleanup()
    assert added >= 10
    with ws.transaction():
        rebuild(ws)
    for run in ("learning", "kept"):
        ctx = DetectionContext.build(ws, config, SINCE, None)
        try:
            flips = ctx.baseline_flips(True, True).to_pandas()
            assert len(flips) >= added // 2, run  # the window does explain some baseline reads
            got = unexplained_excess(ctx, "no_relationship", lambda x: ~x.explained,
                                     ExcessParams(min_records=0))
            ref = _reference(ctx)
        finally:
            ctx.cleanup()
        assert not got.empty
        m = got.merge(ref, on=["user_id", "org_id"], how="left", suffixes=("", "_ref")).fillna(
            {"b_recs": 0, "b_hits": 0, "b_recs_ref": 0, "b_hits_ref": 0})
        assert len(m) == len(got), run
        assert (m.b_recs == m.b_recs_ref).all() and (m.b_hits == m.b_hits_ref).all(), run
        assert m.b_hits.sum() > 0, run
        if run == "learning":
            assert ctx.engine.learnt_built > 0  # type: ignore[attr-defined]
        else:
            assert ctx.engine.learnt_built == 0 and ctx.engine.learnt_hits > 0  # type: ignore[attr-defined]
    ws.close()


def test_a_schema_4_workspace_upgrades_and_rebuilds_its_aggregates(tmp_path) -> None:
    fresh = Workspace.open(tmp_path / "fresh", create=True)
    build(fresh)
    expected = [(f.finding_id, f.severity, f.score) for f in run_detectors(fresh, AuditConfig(), store=False).findings]
    fresh.close()
    ws = Workspace.open(tmp_path / "old", create=True)
    build(ws)
    (tmp_path / "old" / "pseudonym.key").write_text((tmp_path / "fresh" / "pseudonym.key").read_text())
    # What schema 4 had: agg_records without n_work, aggregates of definitions version 1.
    ws.con.execute("ALTER TABLE agg_records DROP COLUMN n_work")
    ws.con.execute("INSERT OR REPLACE INTO agg_state VALUES ('version', '1')")
    ws.con.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    ws.close()
    ws = Workspace.open(tmp_path / "old")
    assert ws.schema_version == migrations.SCHEMA_VERSION
    assert agg_store.needs_rebuild(ws)
    got = [(f.finding_id, f.severity, f.score) for f in run_detectors(ws, AuditConfig(), store=False).findings]
    assert not agg_store.needs_rebuild(ws)
    assert ws.con.execute("SELECT count(*) = count(n_work) FROM agg_records").fetchone()[0]
    assert got == expected
    ws.close()
