"""End to end: daily drops scanned in order alert what one batch detection finds, each exactly once;
late and out-of-order files; kills at every step; overlapping scans; a flaky webhook.

A small hand-made world (scan_helpers.make_world) keeps these fast; detection dominates each scan.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time as time_mod
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from scan_helpers import START, day_file, make_world
from test_scan_webhook import Receiver

from audit_kit.app.context import SCAN_FAULT_ENV as FAULT_ENV
from audit_kit.app.scan import FAULT_POINTS
from audit_kit.cli import run
from audit_kit.config import AuditConfig
from audit_kit.detectors import REGISTRY, run_detectors
from audit_kit.ingest import ingest_dataset, ingest_files
from audit_kit.models.findings import Severity
from audit_kit.store.workspace import Workspace

# Each scan runs real detectors (about a second of CPU each, more on a busy machine).
pytestmark = pytest.mark.slow

DAYS, HISTORY = 34, 28
# Compared finding by finding with a batch run: leaver_account never depends on the window, and this
# world's no-relationship reader is stark enough that the moving baseline does not matter.
STABLE = ["leaver_account", "no_relationship"]
DETECTORS = ",".join(STABLE + ["log_gap"])
# The kill, overlap and webhook tests need some alerts, not every detector: these two are the cheapest.
FAST = "leaver_account,log_gap"


def _day(n: int) -> datetime:
    return datetime.combine(START + timedelta(days=n), time())


def load_world(root: Path, history_days: int) -> tuple[Path, Path]:
    """A world, and a workspace with its reference tables and its first `history_days` of events."""
    world = root / "world"
    if not world.exists():
        make_world(world, DAYS)
    events = world / "events"
    shutil.rmtree(events, ignore_errors=True)
    events.mkdir()
    with open(events / "history.csv", "w") as out:
        for d in range(history_days):
            lines = day_file(world, d).read_text().splitlines(keepends=True)
            out.writelines(lines if d == 0 else lines[1:])
    ws_path = root / f"ws-{history_days}"
    with Workspace.open(ws_path, create=True) as ws:
        ingest_dataset(ws, world)
        assert ws.pseudonym_key  # made now, so every copy pseudonymises (and ids findings) alike
    return world, ws_path


def scan(ws: Path, inbox: Path, *extra: str, detectors: str = DETECTORS) -> int:
    return run(["scan", "-w", str(ws), "--inbox", str(inbox), "--detectors", detectors, "-q", *extra])


def scan_proc(ws: Path, inbox: Path, *extra: str, fault: str | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    if fault:
        env[FAULT_ENV] = fault
    return subprocess.Popen(
        [sys.executable, "-m", "audit_kit", "scan", "-w", str(ws), "--inbox", str(inbox),
         "--detectors", FAST, "-q", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def alerts_of(ws: Path) -> list[dict]:
    path = ws / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def alert_ids(ws: Path) -> list[str]:
    ids = [a["alert_id"] for a in alerts_of(ws)]
    assert len(ids) == len(set(ids)), "an alert was written twice"
    return sorted(ids)


def incidents(ws: Path) -> list[tuple[str, str | None, str | None]]:
    """What was alerted, comparable across different window placements: the alert id for stable
    detectors, (detector, org, user) for log_gap, whose finding id is the first silent day the window saw.
    An escalation (the same finding alerted again at a higher severity) is the same incident."""
    alert_ids(ws)
    return sorted(
        (a["detector"], a["org_id"], a["user_id"]) if a["detector"] == "log_gap" else (a["alert_id"], None, None)
        for a in alerts_of(ws) if "escalated_from" not in a["evidence"]
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, Path]:
    """The world and a workspace holding its history, marked as baseline (copied by each test)."""
    root = tmp_path_factory.mktemp("scan-world")
    world, ws = load_world(root, HISTORY)
    empty = root / "empty-inbox"
    empty.mkdir()
    assert scan(ws, empty, "--baseline") == 0
    return world, ws


def _one_shot(template, root: Path, detectors: str) -> Path:
    world, ws_t = template
    ws, inbox = _copy(ws_t, root), root / "inbox"
    _drop(world, inbox, range(HISTORY, DAYS))
    assert scan(ws, inbox, detectors=detectors) == 0
    return ws


def kept_aggregates(ws: Path) -> dict[str, list[tuple]]:
    """The kept per-day aggregates' rows (sorted), to compare a recovered workspace with a clean one."""
    from audit_kit.engine.aggregates import DAILY

    with Workspace.open(ws) as w:
        return {name: sorted(w.con.execute(f"SELECT * FROM agg_{name}").fetchall(), key=str) for name in DAILY}


@pytest.fixture(scope="module")
def clean_run(template, tmp_path_factory) -> tuple[list[str], dict[str, list[tuple]]]:
    """Alert ids and kept aggregates of one uninterrupted scan of every new day at once (FAST detectors)."""
    ws = _one_shot(template, tmp_path_factory.mktemp("clean"), FAST)
    return alert_ids(ws), kept_aggregates(ws)


@pytest.fixture(scope="module")
def clean_alerts(clean_run) -> list[str]:
    """Alert ids of one uninterrupted scan of every new day at once (the FAST detectors)."""
    return clean_run[0]


@pytest.fixture(scope="module")
def clean_incidents(template, tmp_path_factory) -> list[tuple[str, str | None, str | None]]:
    """Incidents of one uninterrupted scan of every new day at once (all test detectors)."""
    return incidents(_one_shot(template, tmp_path_factory.mktemp("clean-all"), DETECTORS))


def _copy(ws_template: Path, root: Path) -> Path:
    ws = root / "ws"
    shutil.copytree(ws_template, ws)
    return ws


def _drop(world: Path, inbox: Path, days) -> None:  # type: ignore[no-untyped-def]
    inbox.mkdir(exist_ok=True)
    for d in days:
        shutil.copy(day_file(world, d), inbox)


@pytest.fixture
def fresh(template, tmp_path: Path) -> tuple[Path, Path, Path]:
    world, ws_t = template
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return world, _copy(ws_t, tmp_path), inbox


def test_daily_drops_alert_what_batch_detect_finds_once(template, fresh, clean_incidents, tmp_path: Path) -> None:
    world, ws, inbox = fresh
    codes = []
    for d in range(HISTORY, DAYS):
        _drop(world, inbox, [d])
        # The fewest context days: a batch detection over the new days sees no day before them either (and
        # this world's four weeks of history leave log_gap too short a baseline behind a fortnight's context).
        codes.append(scan(ws, inbox, "--fail-on", "high", "--context-days", "4"))
    alerts = alerts_of(ws)
    assert alert_ids(ws)
    assert 1 in codes and set(codes) <= {0, 1}  # the leaver and the no-relationship reader are high+

    # One batch detection over the same period, on a workspace that got the new days in one ingest.
    full = _copy(template[1], tmp_path / "batch")
    with Workspace.open(full) as w:
        ingest_files(w, [day_file(world, d) for d in range(HISTORY, DAYS)])
        batch = run_detectors(w, AuditConfig(), since=_day(HISTORY), until=_day(DAYS), detectors=STABLE + ["log_gap"], store=False)
    expected = {f.finding_id for f in batch.findings if f.detector in STABLE and f.severity >= Severity.LOW}
    got = {a["finding_id"] for a in alerts if a["detector"] in STABLE}
    assert expected and got == expected
    # log_gap depends on where windows fall: the silent organisation is alerted once, as batch finds it, and
    # again only as the silence goes on and grows more severe (an escalation pointing at the first alert).
    gaps = [a for a in alerts if a["detector"] == "log_gap"]
    firsts = [a for a in gaps if "escalated_from" not in a["evidence"]]
    assert [a["org_id"] for a in firsts] == ["O3"]
    assert all(a["evidence"]["escalated_from"]["alert_id"] == firsts[0]["alert_id"] for a in gaps[1:])
    assert [a["severity"] for a in gaps] == sorted((a["severity"] for a in gaps), key=lambda s: Severity(s).rank)
    assert {f.org_id for f in batch.findings if f.detector == "log_gap"} == {"O3"}
    # The same incidents as one scan of everything at once.
    assert incidents(ws) == clean_incidents
    # Nothing new on a rerun: exit 0 even with --fail-on info, and the file is unchanged.
    before = (ws / "alerts.jsonl").read_text()
    assert scan(ws, inbox, "--fail-on", "info") == 0
    assert (ws / "alerts.jsonl").read_text() == before


def test_late_and_out_of_order_files(fresh, clean_incidents, capsys) -> None:
    world, ws, inbox = fresh
    # Day 2 before day 1, day 4 before day 3, then the rest together.
    for days in ([HISTORY + 1], [HISTORY], [HISTORY + 3], [HISTORY + 2], range(HISTORY + 4, DAYS)):
        _drop(world, inbox, days)
        assert scan(ws, inbox) == 0
    assert incidents(ws) == clean_incidents
    with Workspace.open(ws) as w:
        late = w.con.execute("SELECT sum(late_events), sum(too_late_events) FROM scan_runs").fetchall()[0]
    assert late[0] > 0 and late[1] == 0


def test_too_late_events_are_counted_and_a_replay_judges_them(fresh, capsys) -> None:
    world, ws, inbox = fresh
    _drop(world, inbox, range(HISTORY, DAYS))
    assert scan(ws, inbox) == 0
    first = alert_ids(ws)
    # A forgotten file for a history day, with a leaver-style access, arrives two weeks late. (A day whose
    # baseline epoch starts after a week of history: before that, no_relationship has too little baseline and
    # says so.)
    late = inbox / "resent-2026-09-15.csv"
    late.write_text(
        "event_id,timestamp,user_id,org_id,record_id,action,outcome\n"
        + "".join(f"LATE-{k},2026-09-15T11:{k:02d}:00Z,O2-u3,O2,C{3 * k:04d},view,success\n" for k in range(12))
    )
    capsys.readouterr()
    assert scan(ws, inbox, "--lateness", "48h") == 0
    out = capsys.readouterr().out
    assert "12 events later than --lateness" in out and "0 new alerts" in out
    assert alert_ids(ws) == first
    # Replaying the period judges it: O2-u3 read a child O2 has no involvement with.
    assert scan(ws, inbox, "--replay", "2026-09-15..2026-09-15", "--fail-on", "high") == 1
    new = [a for a in alerts_of(ws) if a["alert_id"] not in first]
    assert [(a["detector"], a["user_id"]) for a in new] == [("no_relationship", "O2-u3")]


def _killed(ws: Path, inbox: Path, point: str) -> None:
    proc = scan_proc(ws, inbox, fault=f"kill@{point}")
    proc.communicate(timeout=120)
    assert proc.returncode == -9, f"the scan was not killed at {point}"


def _check_recovered(ws: Path, inbox: Path, clean_alerts: list[str], capsys,  # type: ignore[no-untyped-def]
                     clean_aggregates: dict[str, list[tuple]] | None = None) -> None:
    capsys.readouterr()
    code = scan(ws, inbox, "--fail-on", "medium", detectors=FAST)
    assert alert_ids(ws) == clean_alerts
    if clean_aggregates is not None:  # and the kept aggregates are those of the uninterrupted run
        assert kept_aggregates(ws) == clean_aggregates
    out = capsys.readouterr().out
    # Alerts committed by a killed run are reported (and fail the job) by the rerun, once.
    assert code == 1 and f"{len(clean_alerts)} new alert" in out, out
    with Workspace.open(ws) as w:
        statuses = dict(w.con.execute("SELECT status, count(*) FROM scan_runs GROUP BY 1").fetchall())
        pending = w.con.execute("SELECT count(*) FROM scan_outbox WHERE delivered_at IS NULL").fetchall()[0][0]
    assert pending == 0 and "running" not in statuses
    assert scan(ws, inbox, "--fail-on", "info", detectors=FAST) == 0  # and never again


def test_scan_killed_at_every_step_in_turn_then_rerun(fresh, clean_run, capsys) -> None:
    """Each rerun is itself killed one step further on; the final rerun has exactly the clean alerts and
    the clean kept aggregates."""
    world, ws, inbox = fresh
    _drop(world, inbox, range(HISTORY, DAYS))
    for point in FAULT_POINTS:
        _killed(ws, inbox, point)
    _check_recovered(ws, inbox, clean_run[0], capsys, clean_run[1])


@pytest.mark.parametrize("point", ["ingested_one", "detected", "committed", "sent"])
def test_scan_killed_once_then_rerun(point: str, fresh, clean_run, capsys) -> None:
    world, ws, inbox = fresh
    _drop(world, inbox, range(HISTORY, DAYS))
    _killed(ws, inbox, point)
    if point == "sent":  # the file holds the alerts, bookkeeping does not: the rerun must not repeat them
        assert alert_ids(ws) == clean_run[0]
    _check_recovered(ws, inbox, clean_run[0], capsys, clean_run[1])


def test_two_scans_started_together(fresh, clean_alerts, tmp_path: Path) -> None:
    world, ws, inbox = fresh
    _drop(world, inbox, range(HISTORY, DAYS))
    go = tmp_path / "go"
    # Both start at once; the first to take the lock waits there until told, so the overlap is certain.
    a = scan_proc(ws, inbox, fault=f"wait@start={go}")
    b = scan_proc(ws, inbox, fault=f"wait@start={go}")
    deadline = time_mod.monotonic() + 60
    while a.poll() is None and b.poll() is None and time_mod.monotonic() < deadline:
        time_mod.sleep(0.05)
    go.touch()
    results = []
    for proc in (a, b):
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out, err))
    assert sorted(r[0] for r in results) == [0, 75], results
    loser = next(r for r in results if r[0] == 75)
    assert "another scan is running" in loser[2] and "this run did nothing" in loser[2]
    assert alert_ids(ws) == clean_alerts


def test_webhook_that_fails_first_gets_every_alert_once(fresh, clean_alerts, capsys) -> None:
    world, ws, inbox = fresh
    _drop(world, inbox, range(HISTORY, DAYS))
    with Receiver(failures=3) as rx:
        opts = ["--webhook", rx.url, "--webhook-attempts", "2", "--webhook-backoff", "0"]
        assert scan(ws, inbox, *opts, detectors=FAST) == 0
        out = capsys.readouterr().out
        assert f"{len(clean_alerts)} queued for http://127.0.0.1:{rx.server.server_port}/…" in out
        assert rx.alert_ids == []
        assert scan(ws, inbox, *opts, detectors=FAST) == 0  # next run: one more failure, then delivered
        assert scan(ws, inbox, *opts, detectors=FAST) == 0  # nothing left to send
    assert sorted(rx.alert_ids) == clean_alerts
    assert alert_ids(ws) == clean_alerts


def test_first_scan_of_a_workspace_with_history_takes_it_as_baseline(template, clean_incidents, tmp_path: Path,
                                                                      capsys) -> None:
    """No --baseline run first: the history already ingested is not judged (and said so); the new days
    alert exactly what they alert after an explicit --baseline."""
    world, _ = template
    _, ws = load_world(tmp_path, HISTORY)
    inbox = tmp_path / "inbox"
    _drop(world, inbox, range(HISTORY, DAYS))
    capsys.readouterr()
    assert scan(ws, inbox) == 0
    out = capsys.readouterr().out
    assert "first scan: " in out and "taken as history, not judged" in out, out
    assert incidents(ws) == clean_incidents
    with Workspace.open(ws) as w:
        history_end = w.con.execute("SELECT max(timestamp) FROM events WHERE timestamp < ?", [_day(HISTORY)]).fetchone()
        since = w.con.execute("SELECT min(window_since) FROM scan_runs").fetchone()
    # The detectors saw the batch window's days before the new ones as context, not the whole history.
    context = timedelta(days=AuditConfig().window_days)
    assert history_end is not None and since is not None and since[0] >= _day(HISTORY) - context


def test_first_scan_since_judges_the_history_from_there(template, clean_incidents, tmp_path: Path, capsys) -> None:
    """Everything already ingested (history and the new days); --since the first new day judges from there:
    the same incidents as scanning the new days as they come."""
    world, _ = template
    _, ws = load_world(tmp_path, DAYS)
    empty = tmp_path / "inbox"
    empty.mkdir()
    capsys.readouterr()
    assert scan(ws, empty, "--since", _day(HISTORY).date().isoformat()) == 0
    out = capsys.readouterr().out
    assert f"judged from {_day(HISTORY):%Y-%m-%d} 00:00 UTC" in out, out
    assert incidents(ws) == clean_incidents


def test_one_more_days_scan_alerts_what_batch_detection_finds_for_that_day(template, tmp_path: Path) -> None:
    """Every detector: the day's scan (kept aggregates, kept baselines) against a batch detection over the
    same window from the events themselves, on an identical copy."""
    from audit_kit.engine.duckdb import DuckDBEngine

    world, ws_t = template
    ws = _copy(ws_t, tmp_path)
    inbox = tmp_path / "inbox"
    _drop(world, inbox, range(HISTORY, DAYS - 1))
    assert scan(ws, inbox, detectors=",".join(sorted(REGISTRY))) in (0, 1)
    before = set(alert_ids(ws))
    batch_ws = _copy(ws, tmp_path / "batch")
    _drop(world, inbox, [DAYS - 1])
    assert scan(ws, inbox, "--format", "json", detectors=",".join(sorted(REGISTRY))) in (0, 1)
    with Workspace.open(ws) as w:
        since, until = w.con.execute("SELECT window_since, window_until FROM scan_runs ORDER BY started_at DESC "
                                     "LIMIT 1").fetchone()  # type: ignore[misc]
    new = [a for a in alerts_of(ws) if a["alert_id"] not in before]
    with Workspace.open(batch_ws) as w:
        ingest_files(w, [day_file(world, DAYS - 1)])
        batch = run_detectors(w, AuditConfig(), since=since, until=until, store=False,
                              engine=DuckDBEngine(w, use_kept=False))
    judged = _day(DAYS - 1)
    expected = {f.finding_id for f in batch.findings
                if f.last_seen is None or f.last_seen.replace(tzinfo=None) >= judged}
    got = {a["finding_id"] for a in new}
    # Alerts already raised for an earlier day are not raised again (a continuing incident).
    assert got <= expected and expected - got <= {a["finding_id"] for a in alerts_of(ws) if a["alert_id"] in before}
