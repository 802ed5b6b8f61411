"""A killed ingest leaves the workspace exactly as it was: all of a run or none of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from _ingest_data import write_dataset

from audit_kit.store.workspace import Workspace

N = 200_000


def _state(ws_path: Path) -> tuple[int, int, int]:
    with Workspace.open(ws_path) as ws:
        return ws.count("events"), ws.count("quarantine"), ws.count("ingest_files")


@pytest.mark.slow
def test_sigkill_mid_ingest_leaves_workspace_unchanged(tmp_path):
    ws_path = tmp_path / "ws"
    base = write_dataset(tmp_path / "base")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "audit_kit", "ingest", "--quiet", "--workspace", str(ws_path)]
    subprocess.run([*cmd, str(base)], check=True, env=env, capture_output=True)
    before = _state(ws_path)

    big = tmp_path / "big" / "events"
    big.mkdir(parents=True)
    for part in range(3):
        duckdb.sql(
            f"""COPY (SELECT 'k{part}-' || i AS event_id,
                       strftime(TIMESTAMP '2026-06-01' + to_seconds(i), '%Y-%m-%dT%H:%M:%SZ') AS timestamp,
                       'u' || (i % 50) AS user_id, 'LA001' AS org_id, 'c' || (i % 999) AS record_id,
                       CASE WHEN i % 1000 = 7 THEN 'peek' ELSE 'view' END AS action, 'success' AS outcome
                FROM range({N}) t(i)) TO '{big / f"p{part}.csv"}' (HEADER)"""
        )
    (tmp_path / "big" / "organisations.csv").write_text((base / "organisations.csv").read_text())

    db = ws_path / "audit.duckdb"
    wal = ws_path / "audit.duckdb.wal"

    def storage() -> tuple[int, int]:
        return db.stat().st_size, wal.stat().st_size if wal.exists() else 0

    # All of the run or none of it: the state after a kill is one of these two, never in between.
    full = (before[0] + 3 * N - 3 * (N // 1000), before[1] + 3 * (N // 1000), before[2] + 3)
    outcomes = set()
    # Kill once the store starts changing on disk (mid-transaction or mid-commit), then at fixed times.
    for kill_when in ("storage-grows", 1.0, 2.5):
        proc = subprocess.Popen([*cmd, str(tmp_path / "big")], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        start, initial = time.monotonic(), storage()
        while proc.poll() is None:
            if kill_when == "storage-grows" and storage() != initial:
                break
            if kill_when != "storage-grows" and time.monotonic() - start >= kill_when:
                break
            time.sleep(0.005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            state = _state(ws_path)
            assert state in (before, full), f"partial ingest visible after SIGKILL ({kill_when}): {state}"
            outcomes.add("killed" if state == before else "killed after commit")
            if state == full:
                break
        else:
            outcomes.add("finished")
            break
    assert "killed" in outcomes, "ingest finished before any kill: make the input larger"

    # A clean run afterwards leaves everything stored exactly once.
    subprocess.run([*cmd, str(tmp_path / "big")], check=True, env=env, capture_output=True)
    assert _state(ws_path) == full
