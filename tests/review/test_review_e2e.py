"""End to end on an ingested and detected workspace: a false positive suppressed for 30 days is not listed as
open, not alerted by later scans and not counted by `detect --fail-on`, and is alerted again once the
suppression has expired and the pattern recurs — with the clock taken from the run context, moved on.
An explained verdict teaches the explained-access model."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from review_world import SHIELDED, SNOOPER, T0, day_file

from audit_kit.app.context import resolve
from audit_kit.app.scan import ScanOptions, run_scan
from audit_kit.cli import run
from audit_kit.config import AuditConfig
from audit_kit.detectors import run_detectors
from audit_kit.ingest import ingest_files
from audit_kit.review import (
    EventKind,
    ExplainedBy,
    FindingFilter,
    FindingState,
    PeopleStore,
    Verdict,
    get_finding,
    history,
    list_findings,
    review_finding,
    sync_findings,
)
from audit_kit.store.findings import load_findings
from audit_kit.store.workspace import Workspace

pytestmark = pytest.mark.slow  # real detectors in every scan (a few seconds each)


def _inbox(world: Path, root: Path, days: range) -> Path:
    inbox = root / "inbox"
    inbox.mkdir(exist_ok=True)
    for d in days:
        shutil.copy(day_file(world, d), inbox / day_file(world, d).name)
    return inbox


def _scan(ws: Path, inbox: Path, now: datetime, baseline: bool = False):
    return run_scan(resolve(ws, now=now, env={}, notify=True), ScanOptions(inbox=inbox, baseline=baseline))


def _shielded(ws: Path) -> str:
    with Workspace.open(ws, read_only=True) as w:
        [f] = [f for f in load_findings(w) if f.detector == "shielded_access" and f.user_id == SNOOPER]
    return f.finding_id


def test_a_suppressed_false_positive_stays_quiet_until_it_expires(detected_ws: Path, world: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    ws = detected_ws
    fid = _shielded(ws)
    assert run(["findings", "list", "-w", str(ws), "--status", "open", "-f", "json"]) == 0
    assert fid in {f["finding_id"] for f in json.loads(capsys.readouterr().out)}

    # The reviewer's verdict, on the test's clock.
    with PeopleStore.open(ws) as people:
        out = review_finding(people, fid, Verdict.FALSE_POSITIVE, "locum GP covering the child's practice", "alice",
                             T0, suppress_days=30)
    assert out.rule is not None and out.rule.expires_at == T0 + timedelta(days=30)

    # Not listed as open; listed (with who and why) as a false positive and a suppression.
    assert run(["findings", "list", "-w", str(ws), "--status", "open", "-f", "json"]) == 0
    assert fid not in {f["finding_id"] for f in json.loads(capsys.readouterr().out)}
    assert run(["findings", "list", "-w", str(ws), "--status", "false_positive", "-f", "json"]) == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert shown["finding_id"] == fid and shown["updated_by"] == "alice"
    assert run(["findings", "suppressions", "-w", str(ws), "--all", "-f", "json"]) == 0
    [rule] = json.loads(capsys.readouterr().out)
    assert rule["rule_id"] == out.rule.rule_id and rule["record"] and rule["created_by"] == "alice"

    # Not counted by detect --fail-on (the finding is still found, stored and shown).
    code = run(["detect", "-w", str(ws), "--detectors", "shielded_access", "--fail-on", "high", "-f", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert fid in {f["finding_id"] for f in json.loads(captured.out)}
    assert "suppressed by review" in captured.err

    # Scans while the suppression holds: found again (day 35), stored, never alerted.
    (tmp_path / "empty").mkdir()
    assert _scan(ws, tmp_path / "empty", T0, baseline=True).baseline  # what ingest stored is history
    inbox = _inbox(world, tmp_path, range(30, 40))
    during = _scan(ws, inbox, T0 + timedelta(days=9))
    assert during.suppressed >= 1
    assert fid not in {a.finding_id for a in during.new_alerts}
    with Workspace.open(ws, read_only=True) as w:
        stored = {f.finding_id: f for f in load_findings(w)}
    assert fid in stored and stored[fid].last_seen.date().isoformat() == "2026-10-06"  # type: ignore[union-attr]
    with PeopleStore.open(ws, read_only=True) as people:
        assert get_finding(people, fid).state is FindingState.FALSE_POSITIVE  # type: ignore[union-attr]

    # The clock moves past the expiry and the pattern recurs (day 65): alerted again, and open again.
    _inbox(world, tmp_path, range(40, 70))
    after = _scan(ws, inbox, datetime(2026, 11, 7, 9, 0))
    assert fid in {a.finding_id for a in after.new_alerts}
    with PeopleStore.open(ws, read_only=True) as people:
        g = get_finding(people, fid)
        assert g is not None and g.state is FindingState.OPEN
        assert history(people, fid)[-1].kind is EventKind.REOPENED


def test_an_alerted_finding_reopened_after_expiry_is_alerted_once_more(detected_ws: Path, world: Path,
                                                                       tmp_path: Path) -> None:
    ws = detected_ws
    inbox = _inbox(world, tmp_path, range(30, 40))
    first = _scan(ws, inbox, T0 + timedelta(days=9))  # judges everything pending: the snooping is alerted
    fid = _shielded(ws)
    [alert] = [a for a in first.new_alerts if a.finding_id == fid]
    with PeopleStore.open(ws) as people:
        review_finding(people, fid, Verdict.FALSE_POSITIVE, "locum cover", "alice", T0 + timedelta(days=9),
                       suppress_days=14)
    _inbox(world, tmp_path, range(40, 70))
    again = _scan(ws, inbox, datetime(2026, 11, 7, 9, 0))
    re_alerts = [a for a in again.new_alerts if a.finding_id == fid]
    assert len(re_alerts) == 1 and re_alerts[0].alert_id != alert.alert_id
    # A rerun over nothing new raises nothing.
    assert not _scan(ws, inbox, datetime(2026, 11, 8, 9, 0)).new_alerts


def test_an_explained_verdict_teaches_the_explained_access_model(detected_ws: Path, world: Path) -> None:
    ws = detected_ws
    fid = _shielded(ws)
    with Workspace.open(ws, read_only=True) as w, PeopleStore.open(ws) as people:
        sync_findings(w, people, T0)
        review_finding(people, fid, Verdict.EXPLAINED, "the practice registered the child on 1 September",
                       "alice", T0, explained_by=ExplainedBy.INVOLVEMENT)
    with Workspace.open(ws) as w:
        ingest_files(w, [day_file(world, d) for d in range(30, 40)])
        since, until = datetime(2026, 10, 1), datetime(2026, 10, 11)
        run = run_detectors(w, AuditConfig(), since=since, until=until, detectors=["shielded_access"], store=False)
        assert not [f for f in run.findings if f.user_id == SNOOPER]  # day 35's access is now explained
        assert not run.errors, run.errors
        gp2 = {e.org_id: e for e in run.explained_access}["GP2"]
        assert gp2.explained == gp2.accesses and gp2.by_allow_list >= 2
    # Without the explanation (another workspace, same data) the same window finds it.
    shutil.move(str(ws / "people.sqlite"), str(ws.parent / "people.bak"))
    for extra in ("people.sqlite-wal", "people.sqlite-shm"):
        (ws / extra).unlink(missing_ok=True)
    with Workspace.open(ws) as w:
        run = run_detectors(w, AuditConfig(), since=since, until=until, detectors=["shielded_access"], store=False)
        assert [f.evidence["record"] for f in run.findings if f.user_id == SNOOPER] == [w.pseudonymise(SHIELDED)]


def test_listing_while_a_scan_holds_the_workspace_shows_what_was_published(detected_ws: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    with Workspace.open(detected_ws) as w, PeopleStore.open(detected_ws) as people:
        sync_findings(w, people, T0)
    with Workspace.open(detected_ws):  # a scan or ingest holding DuckDB
        assert run(["findings", "list", "-w", str(detected_ws), "-f", "json"]) == 0
        captured = capsys.readouterr()
    assert len(json.loads(captured.out)) >= 2 and "as last published" in captured.err
    with PeopleStore.open(detected_ws, read_only=True) as people:
        assert list_findings(people, FindingFilter(states=(FindingState.OPEN,)))


def test_the_assessment_reports_suppressions_in_force(detected_ws: Path) -> None:
    from audit_kit.app.limits import limitation_inputs
    from audit_kit.report import national_html

    fid = _shielded(detected_ws)
    assert limitation_inputs(detected_ws, T0.date(), restricted=True).suppressions == ()  # nothing reviewed
    with Workspace.open(detected_ws, read_only=True) as w:
        with PeopleStore.open(detected_ws) as people:
            sync_findings(w, people, T0)
            review_finding(people, fid, Verdict.FALSE_POSITIVE, "locum cover agreed with the DPO", "alice",
                           T0 - timedelta(days=1), suppress_days=30)
        limits = limitation_inputs(detected_ws, T0.date(), restricted=True)
        restricted = national_html(w, "restricted", today=T0.date(), config=AuditConfig(), limits=limits)
    public = limitation_inputs(detected_ws, T0.date(), restricted=False)
    assert limitation_inputs(detected_ws, (T0 + timedelta(days=40)).date(), restricted=True).suppressions == ()
    assert "locum cover agreed with the DPO" in restricted and "1 suppression active" in restricted
    [s] = public.suppressions or ()
    assert "shielded_access" in s.scope and "alice" not in s.scope + s.reason + s.by
