"""The `audit-kit scan` command: options, output, exit codes and every user-facing error path.

Most of these use --baseline (ingest, no detection) so they stay fast; detection runs are in
test_scan_e2e.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from scan_helpers import day_file, make_world

from audit_kit.cli import run
from audit_kit.ingest import ingest_dataset
from audit_kit.scan.lock import ScanLock
from audit_kit.store.workspace import Workspace


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A world of 30 days, a workspace with its reference tables and first day, an empty inbox."""
    world = tmp_path / "world"
    make_world(world, days=30)
    (world / "events").mkdir()
    shutil.copy(day_file(world, 0), world / "events")
    ws = tmp_path / "ws"
    with Workspace.open(ws, create=True) as w:
        ingest_dataset(w, world)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return world, ws, inbox


def scan(ws: Path, inbox: Path, *extra: str) -> int:
    return run(["scan", "-w", str(ws), "--inbox", str(inbox), *extra])


def test_help_has_an_example_and_the_exit_codes(capsys) -> None:
    assert run(["scan", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps to the terminal width
    assert "audit-kit scan -w" in out and "75 another scan is running" in out and "--lateness" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--lateness", "soon"], "--lateness 'soon': expected a duration"),
        (["--webhook", "http://alerts.example.org/x"], "plain http to another machine"),
        (["--webhook", "nonsense"], "expected an http(s) URL"),
        (["--replay", "2026-10-05..2026-10-01"], "the last day is before the first"),
        (["--replay", "last week"], "expected FIRST..LAST dates"),
        (["--detectors", "leaver_account,nosuch"], "unknown detector id(s): nosuch"),
        (["--alerts", "/nonexistent-dir/alerts.jsonl"], "directory /nonexistent-dir does not exist"),
        (["--fail-on", "severe"], "Invalid value for '--fail-on'"),
        (["--baseline", "--replay", "2026-09-01..2026-09-02"], "--baseline and --replay cannot be combined"),
    ],
)
def test_bad_options_exit_2_naming_the_option(small, extra: list[str], message: str, capsys) -> None:
    _, ws, inbox = small
    assert scan(ws, inbox, *extra) == 2
    captured = capsys.readouterr()
    assert message in captured.err + captured.out


def test_missing_workspace_and_inbox_exit_2(small, tmp_path: Path, capsys) -> None:
    _, ws, inbox = small
    assert scan(tmp_path / "nowhere", inbox) == 2
    assert "no audit-kit workspace here" in capsys.readouterr().err
    assert scan(ws, tmp_path / "no-inbox") == 2
    err = capsys.readouterr().err
    assert "--inbox" in err and "does not exist" in err


def test_an_inbox_overlapping_the_workspace_is_refused(small, capsys) -> None:
    _, ws, _ = small
    for inbox in (ws, ws / "quarantine", ws.parent):
        inbox.mkdir(exist_ok=True)
        assert scan(ws, inbox) == 2
        err = capsys.readouterr().err
        assert "overlaps the workspace" in err and "Traceback" not in err


def test_a_running_scan_makes_the_next_exit_75_doing_nothing(small, capsys) -> None:
    world, ws, inbox = small
    shutil.copy(day_file(world, 1), inbox)
    with ScanLock(ws):
        assert scan(ws, inbox, "--baseline") == 75
    err = capsys.readouterr().err
    assert "another scan is running" in err and "this run did nothing" in err
    with Workspace.open(ws) as w:
        assert w.count("scan_runs") == 0 and w.count("scan_files") == 0


def test_workspace_held_by_another_command_is_busy_too(small, capsys) -> None:
    world, ws, inbox = small
    shutil.copy(day_file(world, 1), inbox)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_DB, str(ws / "audit.duckdb")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        assert scan(ws, inbox, "--baseline") == 75
        assert "in use by another audit-kit process; this scan did nothing" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()


HOLD_DB = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("open", flush=True)
time.sleep(60)
"""


def test_new_files_are_ingested_once_recorded_and_moved(small, tmp_path: Path, capsys) -> None:
    world, ws, inbox = small
    done = tmp_path / "done"
    (inbox / "2026-09-02").mkdir()
    shutil.copy(day_file(world, 1), inbox / "2026-09-02")
    shutil.copy(day_file(world, 2), inbox)
    (inbox / "upload.csv.part").write_text("half a file")
    assert scan(ws, inbox, "--baseline", "--move-to", str(done)) == 0
    out = capsys.readouterr().out
    assert out.startswith("audit-kit scan: 2 new files (") and "baseline" in out
    assert sorted(p.relative_to(done).as_posix() for p in done.rglob("*.csv")) == [
        "2026-09-02/" + day_file(world, 1).name, day_file(world, 2).name,
    ]
    assert [p.name for p in inbox.rglob("*") if p.is_file()] == ["upload.csv.part"]
    # The same content dropped again (another name) is recognised and not read twice.
    shutil.copy(day_file(world, 2), inbox / "resent.csv")
    assert scan(ws, inbox, "--baseline", "--move-to", str(done)) == 0
    assert "no new files (1 already ingested)" in capsys.readouterr().out
    with Workspace.open(ws) as w:
        status = dict(w.con.execute("SELECT name, status FROM scan_files").fetchall())
        events = w.count("events")
    # The original's record is kept (the copy is recognised by content, not recorded over it).
    assert status == {"2026-09-02/" + day_file(world, 1).name: "ingested", day_file(world, 2).name: "ingested"}
    expected = sum(len(day_file(world, d).read_text().splitlines()) - 1 for d in range(3))
    assert events == expected


def test_rejected_file_exits_2_then_is_set_aside(small, capsys) -> None:
    world, ws, inbox = small
    (inbox / "broken.csv").write_text("when,who\n2026-09-02T10:00:00Z,u1\n")
    shutil.copy(day_file(world, 1), inbox)
    assert scan(ws, inbox, "--baseline") == 2
    out = capsys.readouterr().out
    assert "1 new file (" in out and "1 rejected" in out
    with Workspace.open(ws) as w:
        error = w.con.execute("SELECT error FROM scan_files WHERE name = 'broken.csv'").fetchall()[0][0]
    assert "broken.csv" in error and "timestamp" in error
    # Not retried (nor re-reported) until its content changes.
    assert scan(ws, inbox, "--baseline") == 0
    assert "1 rejected file left in the inbox" in capsys.readouterr().out


def test_bad_rows_are_quarantined_and_counted(small, capsys) -> None:
    _, ws, inbox = small
    (inbox / "mixed.csv").write_text(
        "event_id,timestamp,user_id,org_id,record_id,action,outcome\n"
        "X1,2026-09-02T10:00:00Z,O1-u0,O1,C0000,view,success\n"
        "X2,yesterday,O1-u0,O1,C0000,view,success\n"
        "X3,2026-09-02T10:05:00Z,O1-u0,O1,C0003,peek,success\n"
    )
    assert scan(ws, inbox, "--baseline") == 0
    assert "1 new file (1 events, 2 rows quarantined)" in capsys.readouterr().out
    with Workspace.open(ws) as w:
        assert w.con.execute("SELECT count(*) FROM quarantine WHERE source_file LIKE '%mixed.csv'").fetchall()[0][0] == 2


def test_json_format_and_quiet(small, capsys) -> None:
    world, ws, inbox = small
    shutil.copy(day_file(world, 1), inbox)
    assert scan(ws, inbox, "--baseline", "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["baseline"] is True and doc["events_stored"] > 0 and doc["new_alerts"] == []
    assert doc["files"][0]["status"] == "ingested"
    # --quiet: nothing to say, nothing printed (no cron mail).
    assert scan(ws, inbox, "--quiet") == 0
    assert capsys.readouterr().out == ""
    with Workspace.open(ws) as w:
        runs = w.con.execute("SELECT status, message FROM scan_runs ORDER BY started_at").fetchall()
    assert [r[0] for r in runs] == ["done", "done"] and runs[1][1].startswith("audit-kit scan: no new files")


def test_every_option_is_documented() -> None:
    import typer
    import typer.main

    from audit_kit.cli.scan import register

    sub = typer.Typer()
    register(sub)
    command = typer.main.get_command(sub)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "scheduling.md").read_text()
    generic = {"--help", "--install-completion", "--show-completion"}
    options = [
        o for p in command.params if p.param_type_name == "option"
        for o in p.opts if o.startswith("--") and o not in generic
    ]
    assert len(options) > 10
    assert [o for o in options if f"`{o}" not in docs] == []


def test_bad_config_file_exits_2_naming_it(small, tmp_path: Path, capsys) -> None:
    _, ws, inbox = small
    assert scan(ws, inbox, "--config", str(tmp_path / "missing.yaml")) == 2
    assert "missing.yaml: config file not found" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text("detectors:\n  no_such_detector: {enabled: false}\n")
    assert scan(ws, inbox, "--config", str(tmp_path / "bad.yaml")) == 2
    assert "bad.yaml" in capsys.readouterr().err


def test_unmovable_file_is_reported_but_the_scan_goes_on(small, tmp_path: Path, capsys) -> None:
    world, ws, inbox = small
    shutil.copy(day_file(world, 1), inbox)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a directory should be")
    assert scan(ws, inbox, "--baseline", "--move-to", str(blocked / "done")) == 2
    out = capsys.readouterr().out
    assert "1 new file (" in out and "1 file(s) not moved: --move-to" in out
    with Workspace.open(ws) as w:
        assert w.con.execute("SELECT count(*) FROM scan_batches").fetchall()[0][0] >= 1  # judged anyway
    assert (inbox / day_file(world, 1).name).exists()


def test_quiet_still_says_why_it_exits_non_zero(small, capsys) -> None:
    _, ws, inbox = small
    (inbox / "broken.csv").write_text("when,who\n2026-09-02T10:00:00Z,u1\n")
    assert scan(ws, inbox, "--baseline", "--quiet") == 2
    err = capsys.readouterr().err
    assert "exit 2: broken.csv was rejected" in err and "timestamp" in err


def test_a_failing_detector_is_named_with_its_error_on_stderr(small, monkeypatch, capsys) -> None:
    from dataclasses import replace

    from audit_kit.detectors import registry

    def boom(ctx, p):  # type: ignore[no-untyped-def]
        raise RuntimeError("kaput")

    world, ws, inbox = small
    monkeypatch.setitem(registry.REGISTRY, "leaver_account", replace(registry.REGISTRY["leaver_account"], fn=boom))
    shutil.copy(day_file(world, 1), inbox)
    assert scan(ws, inbox, "--detectors", "leaver_account", "--quiet") == 3
    captured = capsys.readouterr()
    assert "1 detector error(s): leaver_account" in captured.out
    assert "exit 3: detector leaver_account failed" in captured.err and "RuntimeError: kaput" in captured.err


def test_since_is_for_the_first_scan_only(small, capsys) -> None:
    world, ws, inbox = small
    assert scan(ws, inbox, "--baseline", "--since", "2026-09-01") == 2
    assert "cannot be combined" in capsys.readouterr().err
    assert scan(ws, inbox, "--baseline") == 0
    shutil.copy(day_file(world, 1), inbox)
    assert scan(ws, inbox, "--since", "2026-09-01", "--detectors", "leaver_account") == 2
    assert "--since applies to the first scan" in capsys.readouterr().err


def test_context_days_widens_what_the_detectors_see_never_below_log_gaps_need(small, capsys) -> None:
    world, ws, inbox = small
    for d in range(1, 14):
        shutil.copy(day_file(world, d), inbox)
    assert scan(ws, inbox, "--baseline") == 0
    since = {}
    # Tuesday to Thursday (a weekend day's file of this world has no events: the same as the last one)
    for d, extra in ((14, ["--context-days", "9"]), (15, ["--context-days", "1"]), (16, [])):
        shutil.copy(day_file(world, d), inbox)
        capsys.readouterr()
        assert scan(ws, inbox, "--format", "json", "--detectors", "leaver_account,log_gap", *extra) in (0, 1)
        w = json.loads(capsys.readouterr().out)["window"]
        assert w["judged_since"][:10] == day_file(world, d).stem[len("events-"):]
        since[d] = (datetime.fromisoformat(w["until"][:10]) - datetime.fromisoformat(w["since"][:10])).days
    # 9 days asked; 1 asked is raised to the 4 log_gap needs (2 silent working days and a weekend); by default
    # the batch window, 14.
    assert since == {14: 9, 15: 4, 16: 14}
    assert scan(ws, inbox, "--context-days", "0") == 2
    assert "--context-days" in capsys.readouterr().err
