"""The kept per-day aggregates and learnt baselines give exactly what a computation from the events gives.

* folding ingest batches in (out of order, late, duplicated) leaves the same tables as a rebuild;
* detection from the kept aggregates and kept baselines finds what detection from `events` finds,
  on the first run (learning) and the next (reading what was kept);
* a late event in a baseline day, a changed users.csv or a changed configuration is never judged
  against a stale kept baseline.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from det_miniworld import START, build

from audit_kit.config import AuditConfig
from audit_kit.detectors import REGISTRY, run_detectors
from audit_kit.engine.aggregates import DAILY, ensure_current, rebuild
from audit_kit.engine.duckdb import DuckDBEngine
from audit_kit.ingest import ingest_dataset, ingest_files
from audit_kit.store import aggregates as agg_store
from audit_kit.store.workspace import Workspace
from audit_kit.synth import SynthParams, generate


def kept_tables(ws: Workspace) -> dict[str, list[tuple]]:
    """Every kept aggregate's rows, sorted (the comparison is of content, not row order)."""
    out = {}
    for name in DAILY:
        rows = ws.con.execute(f"SELECT * FROM {agg_store.table_name(name)}").fetchall()
        out[name] = sorted(rows, key=lambda r: tuple("" if v is None else str(v) for v in r))
    return out


def findings_json(run) -> list[dict]:  # type: ignore[no-untyped-def]
    return [f.to_json() for f in run.findings]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A small synthetic world whose events are split into daily files (the last days arrive late)."""
    root = tmp_path_factory.mktemp("kept")
    world = root / "world"
    generate(world, SynthParams(orgs=5, days=40, children=1500))
    import duckdb

    con = duckdb.connect()
    con.execute(f"CREATE TABLE e AS SELECT * FROM read_csv('{world}/events/*.csv', all_varchar = true)")
    shutil.rmtree(world / "events")
    (world / "events").mkdir()
    days = root / "days"
    days.mkdir()
    first = con.execute("SELECT min(timestamp)::DATE, max(timestamp)::DATE FROM e").fetchone()
    assert first is not None
    d0, d1 = first
    # History: all but the last week in one file; then one file per day; one day's events split so that
    # part of it arrives after the following day (late).
    history_end = d1 - timedelta(days=6)
    con.execute(f"COPY (SELECT * FROM e WHERE timestamp::DATE < '{history_end}' ORDER BY event_id) "
                f"TO '{world}/events/history.csv' (HEADER)")
    d = history_end
    while d <= d1:
        con.execute(f"COPY (SELECT * FROM e WHERE timestamp::DATE = '{d}' AND hash(event_id) % 5 <> 0 "
                    f"ORDER BY event_id) TO '{days}/day-{d}.csv' (HEADER)")
        con.execute(f"COPY (SELECT * FROM e WHERE timestamp::DATE = '{d}' AND hash(event_id) % 5 = 0 "
                    f"ORDER BY event_id) TO '{days}/late-{d}.csv' (HEADER)")
        d += timedelta(days=1)
    con.close()
    return root


def _day_files(root: Path) -> list[Path]:
    days = sorted((root / "days").glob("day-*.csv"))
    late = sorted((root / "days").glob("late-*.csv"))
    # Each day's file, then the previous day's late part, and one history day re-sent at the end (a
    # duplicate file: nothing new) — the aggregates must end as if everything came at once.
    order: list[Path] = []
    for i, f in enumerate(days):
        order.append(f)
        if i:
            order.append(late[i - 1])
    order.append(late[-1])
    order.append(days[0])
    return order


def test_folding_batches_in_any_order_equals_a_rebuild(world: Path, tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws", create=True)
    try:
        ingest_dataset(ws, world / "world")
        for f in _day_files(world):
            ingest_files(ws, [f])
        assert agg_store.is_current(ws)
        folded = kept_tables(ws)
        assert all(folded[name] for name in DAILY)
        with ws.transaction():
            rebuild(ws)
        assert kept_tables(ws) == folded
        # Every event is counted once in the activity aggregate.
        total = ws.con.execute("SELECT sum(n) FROM agg_activity").fetchone()
        assert total is not None and total[0] == ws.count("events")
    finally:
        ws.close()


def test_events_written_outside_an_ingest_are_noticed(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws", create=True)
    try:
        build(ws)  # the mini world is written straight into events, with no ingest_files rows
        assert not agg_store.is_current(ws)
        assert ensure_current(ws)
        assert agg_store.is_current(ws)
        ws.con.execute("DELETE FROM events WHERE user_id = 'LA1-U03'")
        assert not agg_store.is_current(ws)  # counts no longer match: rebuilt before use
        assert ensure_current(ws)
        n = ws.con.execute("SELECT count(*) FROM agg_activity WHERE user_id = 'LA1-U03'").fetchone()
        assert n is not None and n[0] == 0
    finally:
        ws.close()


@pytest.mark.parametrize("refresh", [1, 7])
def test_detection_from_kept_aggregates_equals_detection_from_events(tmp_path: Path, refresh: int) -> None:
    ws = Workspace.open(tmp_path / "ws", create=True)
    cfg = AuditConfig(baseline_refresh_days=refresh)
    try:
        build(ws)
        scratch = run_detectors(ws, cfg, store=False, engine=DuckDBEngine(ws, use_kept=False))
        first = DuckDBEngine(ws)
        learnt = run_detectors(ws, cfg, store=False, engine=first)
        again = DuckDBEngine(ws)
        kept = run_detectors(ws, cfg, store=False, engine=again)
    finally:
        ws.close()
    assert not scratch.errors and {f.detector for f in scratch.findings} == set(REGISTRY)
    assert findings_json(learnt) == findings_json(scratch)
    assert findings_json(kept) == findings_json(scratch)
    assert learnt.explained_access == kept.explained_access == scratch.explained_access
    # The second run learnt nothing: every baseline was read from the workspace.
    assert first.learnt_built > 10 and first.learnt_hits == 0
    assert again.learnt_built == 0 and again.learnt_hits == first.learnt_built


def test_a_window_given_to_the_second_equals_the_same_from_events(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws", create=True)
    try:
        build(ws)
        since, until = datetime(2026, 3, 30, 9, 30), datetime(2026, 4, 12, 17, 15)
        kept = run_detectors(ws, AuditConfig(), since, until, store=False)
        scratch = run_detectors(ws, AuditConfig(), since, until, store=False, engine=DuckDBEngine(ws, use_kept=False))
    finally:
        ws.close()
    assert kept.findings and findings_json(kept) == findings_json(scratch)


def test_kept_baselines_follow_late_events_reference_changes_and_config(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws", create=True)
    try:
        build(ws)
        cfg = AuditConfig()
        run_detectors(ws, cfg, store=False)
        # A late file lands in a baseline day: the days it touches are refolded and the baselines learnt
        # from them are no longer used.
        late = tmp_path / "late.csv"
        day = START + timedelta(days=3)
        late.write_text("event_id,timestamp,user_id,org_id,record_id,action,outcome\n" + "".join(
            f"LATE{k},{day}T10:{k:02d}:00Z,LA1-U04,LA1,C{k:04d},view,success\n" for k in range(40)))
        ingest_files(ws, [late])
        engine = DuckDBEngine(ws)
        after_late = run_detectors(ws, cfg, store=False, engine=engine)
        assert engine.learnt_built > 0
        assert findings_json(after_late) == findings_json(
            run_detectors(ws, cfg, store=False, engine=DuckDBEngine(ws, use_kept=False)))
        # A changed role in users.csv changes peer groups: relearnt.
        ws.con.execute("UPDATE users SET role = 'duty' WHERE user_id = 'LA1-U03'")
        engine = DuckDBEngine(ws)
        after_role = run_detectors(ws, cfg, store=False, engine=engine)
        assert engine.learnt_built > 0
        assert "LA1-U03" not in {f.user_id for f in after_role.findings if f.detector == "after_hours"}
        # Tuning a detector relearns (at least) its own baselines; nothing stale is read.
        tuned = AuditConfig.model_validate({"detectors": {"volume_spike": {"params": {"quantile": 0.9}}}})
        engine = DuckDBEngine(ws)
        run_detectors(ws, tuned, store=False, engine=engine)
        assert engine.learnt_built > 0
        # Superseded versions of a baseline are dropped: one kept table per label and epoch.
        labels = ws.con.execute("SELECT label, baseline_end, count(*) FROM kept_baselines GROUP BY ALL "
                                "HAVING count(*) > 1").fetchall()
        assert labels == []
        tables = {r[0] for r in ws.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'bl_%'").fetchall()}
        assert tables == {r[0] for r in ws.con.execute("SELECT table_name FROM kept_baselines").fetchall()}
    finally:
        ws.close()


def test_read_only_workspace_computes_without_keeping(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    with Workspace.open(path, create=True) as ws:
        build(ws)  # never folded: the read-only run computes from the events
    ro = Workspace.open(path, read_only=True)
    try:
        engine = DuckDBEngine(ro)
        run = run_detectors(ro, AuditConfig(), store=False, engine=engine)
        assert {f.detector for f in run.findings} == set(REGISTRY)
        assert not engine.kept() and engine.learnt_built == 0
    finally:
        ro.close()


def test_read_only_workspace_reads_the_baselines_a_run_kept(tmp_path: Path) -> None:
    """Reports and the web app open the workspace read-only: they read what `detect` kept (the packs' community
    figure learnt the peer communities again for every report run) and keep nothing of their own."""
    path = tmp_path / "ws"
    with Workspace.open(path, create=True) as ws:
        build(ws)
        kept = run_detectors(ws, AuditConfig(), store=False)
        n_kept = ws.con.execute("SELECT count(*) FROM kept_baselines").fetchone()
    ro = Workspace.open(path, read_only=True)
    try:
        engine = DuckDBEngine(ro)
        run = run_detectors(ro, AuditConfig(), store=False, engine=engine)
        assert engine.learnt_hits > 10 and engine.learnt_built == 0
        assert findings_json(run) == findings_json(kept)
        # Another configuration matches nothing kept: computed for this run only, nothing written.
        tuned = AuditConfig.model_validate({"detectors": {"volume_spike": {"params": {"quantile": 0.9}}}})
        other = DuckDBEngine(ro)
        run_detectors(ro, tuned, store=False, engine=other)
        assert other.learnt_built == 0 and other.learnt_hits < engine.learnt_hits
        assert ro.con.execute("SELECT count(*) FROM kept_baselines").fetchone() == n_kept
    finally:
        ro.close()
