"""The synthetic world of `audit_kit.synth`, split into daily drops and scanned in order.

The union of alerts must equal one batch detection over the same days for the detectors whose
findings do not depend on where the scan window falls (docs/scheduling.md lists which do).
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from audit_kit.cli import run
from audit_kit.config import AuditConfig
from audit_kit.detectors import run_detectors
from audit_kit.ingest import ingest_dataset, ingest_files
from audit_kit.models.findings import Severity
from audit_kit.store.workspace import Workspace
from audit_kit.synth import SynthParams, generate

# Each scan runs real detectors (about a second of CPU each, more on a busy machine).
pytestmark = pytest.mark.slow

FIRST_DROP = date(2026, 10, 28)  # the synth world ends on 2026-10-31: four daily drops
DROPS = [FIRST_DROP + timedelta(days=i) for i in range(4)]
# Window-independent detectors that fire in this world (kept few: each scan runs them all).
STABLE = ["leaver_account", "volume_spike", "bulk_access", "shielded_access"]


def split_world(root: Path) -> tuple[Path, Path]:
    """Generate a small world; keep events before FIRST_DROP as its history, one CSV per later day."""
    world = root / "world"
    generate(world, SynthParams(seed=2, orgs=6, days=40, children=2000))  # a seed whose cases reach the drops
    con = duckdb.connect()
    con.execute(f"CREATE TABLE e AS SELECT * FROM read_csv('{world}/events/*.csv', all_varchar = true)")
    shutil.rmtree(world / "events")
    (world / "events").mkdir()
    drops = root / "drops"
    drops.mkdir()
    con.execute(f"COPY (SELECT * FROM e WHERE timestamp < '{FIRST_DROP}' ORDER BY event_id) "
                f"TO '{world}/events/history.csv' (HEADER)")
    for d in DROPS:
        con.execute(f"COPY (SELECT * FROM e WHERE timestamp >= '{d}' AND timestamp < '{d + timedelta(days=1)}' "
                    f"ORDER BY event_id) TO '{drops}/events-{d}.csv' (HEADER)")
    con.close()
    return world, drops


def test_synthetic_daily_drops_alert_what_batch_detect_finds(tmp_path: Path, capsys) -> None:
    world, drops = split_world(tmp_path)
    ws = tmp_path / "ws"
    with Workspace.open(ws, create=True) as w:
        ingest_dataset(w, world)
        assert w.pseudonym_key  # shared by the batch copy below: pseudonymised buckets compare
    shutil.copytree(ws, tmp_path / "batch")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # One context day (the fewest): the batch detection below sees no day before the drops either, and the
    # detectors' week buckets start at the first day they see.
    scan = ["scan", "-w", str(ws), "--inbox", str(inbox), "--detectors", ",".join(STABLE), "-q", "--context-days", "1"]
    assert run([*scan, "--baseline"]) == 0
    for d in DROPS:
        shutil.copy(drops / f"events-{d}.csv", inbox)
        assert run(scan) in (0, 1)
    alerts = [json.loads(line) for line in (ws / "alerts.jsonl").read_text().splitlines()]
    assert len({a["alert_id"] for a in alerts}) == len(alerts)

    with Workspace.open(tmp_path / "batch") as w:
        ingest_files(w, sorted(drops.glob("*.csv")))
        batch = run_detectors(w, AuditConfig(), since=datetime.combine(FIRST_DROP, datetime.min.time()),
                              until=datetime(2026, 11, 1), detectors=STABLE, store=False)
    expected = {(f.detector, f.finding_id) for f in batch.findings if f.severity >= Severity.LOW}
    got = {(a["detector"], a["finding_id"]) for a in alerts}
    assert len(expected) >= 3 and got == expected, (sorted(expected - got), sorted(got - expected))
    # Every synthetic leaver whose misuse falls in these days is among them (a truth check, not a count).
    truth = (world / "truth.csv").read_text().splitlines()[1:]
    leavers = {r.split(",")[0] for r in truth if r.split(",")[2] == "leaver_account" and r.split(",")[4] >= "2026-10-28"}
    assert leavers <= {a["user_id"] for a in alerts if a["detector"] == "leaver_account"}
