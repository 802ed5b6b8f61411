"""A scan holding the workspace does not stop the web app: pages and API answer from the published read
models, every read and review is recorded, and the scan — which the web app never touches — finishes
normally and publishes what it judged for the web app before it lets the workspace go."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from web_world import OTHER, OWN, signed_in

from audit_kit.app.context import SCAN_FAULT_ENV
from audit_kit.app.readmodels import refresh_read_models
from audit_kit.store import web
from audit_kit.store.people import PeopleStore


def _scan(ws: Path, inbox: Path, go: Path) -> subprocess.Popen[str]:
    env = {**os.environ, SCAN_FAULT_ENV: f"wait@start={go}"}
    return subprocess.Popen(
        [sys.executable, "-m", "audit_kit", "scan", "-w", str(ws), "--inbox", str(inbox), "--detectors",
         "leaver_account", "-q"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _holding(ws: Path, pid: int) -> bool:
    """True once process `pid` holds DuckDB's lock on the workspace (read from /proc/locks, so the test
    itself takes no lock a starting scan could trip over)."""
    inode = (ws / "audit.duckdb").stat().st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if len(parts) > 5 and parts[4] == str(pid) and parts[5].rsplit(":", 1)[-1] == str(inode):
            return True
    return False


def test_web_serves_and_records_while_a_scan_holds_the_workspace(world, app, tmp_path: Path) -> None:
    inbox, go = tmp_path / "inbox", tmp_path / "go"
    inbox.mkdir()
    rita, dora = signed_in(app, "rita"), signed_in(app, "dora")
    with PeopleStore.open(world.path) as people:
        before = len(web.access_entries(people))
        published = web.publication(people)
    assert published is not None
    proc = _scan(world.path, inbox, go)
    try:
        deadline = time.monotonic() + 60
        while not _holding(world.path, proc.pid):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the scan never took the workspace"
            time.sleep(0.1)
        started = time.monotonic()
        for _ in range(5):
            assert rita.get(f"/api/orgs/{OTHER}").status_code == 200
            assert rita.get("/api/findings").status_code == 200
            assert dora.get(f"/api/orgs/{OTHER}").status_code == 403
            assert dora.get(f"/orgs/{OWN}").status_code == 200
            fid = rita.get(f"/api/findings?org={OWN}").json()["findings"][0]["finding_id"]
            assert rita.post(f"/api/findings/{fid}/review", json={"note": "checked during a scan"}).status_code == 200
        elapsed = time.monotonic() - started
        assert _holding(world.path, proc.pid) and proc.poll() is None  # the scan held it throughout
        assert refresh_read_models(world.path, force=True).status == "busy"  # a reader steps aside at once
        assert elapsed < 20, f"25 requests took {elapsed:.1f}s while a scan ran"
        with PeopleStore.open(world.path) as people:
            during = web.access_entries(people)[before:]
            assert web.verify_access_log(people).ok
        assert sum(1 for e in during if e.action == "view_org") == 15  # 10 API reads, 5 pages
        assert sum(1 for e in during if e.status == 403) == 5
    finally:
        go.touch()
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (out, err)  # the web app never made the scan wait or give up
    with PeopleStore.open(world.path) as people:
        after = web.publication(people)
    assert after is not None and after.fingerprint != published.fingerprint  # the scan published
