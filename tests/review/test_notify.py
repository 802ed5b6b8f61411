"""Reaching people where they work, against servers on 127.0.0.1 started by the tests: one e-mail digest per
DPO over STARTTLS holding only their body's items and nothing twice; Teams and Slack summaries; tickets
for Jira, ServiceNow and a webhook, each once."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from local_servers import CERT, HttpServer, SmtpServer
from review_world import T0, day_file

from audit_kit.app.context import resolve
from audit_kit.app.scan import ScanOptions, run_scan
from audit_kit.cli import run
from audit_kit.errors import ConfigError
from audit_kit.models.findings import Severity
from audit_kit.review import FindingFilter, PeopleStore, Verdict, list_findings, review_finding, sync_findings
from audit_kit.review.notify import build_tickets, post_summaries, post_tickets, send_digests
from audit_kit.review.notify.tickets import JIRA_PRIORITY, SN_LEVEL, jira_csv, servicenow_json
from audit_kit.store.workspace import Workspace

DPOS = {"GP2": "dpo@oak-practice.example", "SCH1": "dpo@hill-school.example", "LA1": "dpo@northshire.example"}
ENV = {"AUDIT_KIT_SMTP_USER": "audit", "AUDIT_KIT_SMTP_PASSWORD": "s3cret-pw"}


def _config(path: Path, port: int, every_hours: float = 0, **email: object) -> Path:
    settings = {"host": "127.0.0.1", "port": port, "starttls": True, "sender": "audit-kit@holder.example",
                "ca_file": str(CERT), **email}
    lines = ["notify:", "  email:"] + [f"    {k}: {json.dumps(v)}" for k, v in settings.items()]
    lines += ["  dpos:"] + [f"    {org}: {addr}" for org, addr in DPOS.items()]
    # low: the planted single shielded read is weak evidence under the calibrated severities (docs/detectors.md)
    lines += ["  digest:", "    min_severity: low", f"    every_hours: {every_hours}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _inbox(world: Path, root: Path, days: range) -> Path:
    inbox = root / "inbox"
    inbox.mkdir(exist_ok=True)
    for d in days:
        shutil.copy(day_file(world, d), inbox / day_file(world, d).name)
    return inbox


def test_a_scan_mails_one_digest_per_dpo_with_only_their_bodys_items_and_nothing_twice(
        detected_ws: Path, world: Path, tmp_path: Path) -> None:
    inbox = _inbox(world, tmp_path, range(30, 40))
    # What `audit-kit detect` publishes: the first scan judges only the days after this history
    # (docs/scheduling.md), so the earlier findings reach the digest from the detect run.
    with Workspace.open(detected_ws) as w, PeopleStore.open(detected_ws) as people:
        sync_findings(w, people, T0)
    with SmtpServer() as smtp:
        config = _config(tmp_path / "audit-kit.yaml", smtp.port)
        ctx = resolve(detected_ws, config, env=ENV, notify=True, now=T0 + timedelta(days=9))
        result = run_scan(ctx, ScanOptions(inbox=inbox))
        first = list(smtp.state.messages)
        again = run_scan(resolve(detected_ws, config, env=ENV, notify=True, now=T0 + timedelta(days=10)), ScanOptions(inbox=inbox))
        assert len(smtp.state.messages) == len(first)  # a rerun delivers nothing twice
    assert any("e-mail: " in n for n in result.review_notes) and not again.new_alerts
    with PeopleStore.open(detected_ws, read_only=True) as people:
        org_of = {f.finding_id: f.org_id for f in list_findings(people, FindingFilter(include_absent=True))}
    by_address = {m.recipients[0]: m for m in first}
    assert len(by_address) == len(first), "one message per DPO"
    assert {"dpo@oak-practice.example", "dpo@hill-school.example"} <= set(by_address)
    for org, address in DPOS.items():
        if address not in by_address:
            continue
        m = by_address[address]
        assert m.tls and m.user == "audit" and m.sender == "audit-kit@holder.example"
        body = m.message.get_payload(decode=True).decode()
        ids = [line.rsplit("finding ", 1)[1] for line in body.splitlines() if "· finding " in line]
        assert ids and all(org_of[i] == org for i in ids), (org, ids)
        assert f"== {org}" in body and all(f"== {o}" not in body for o in DPOS if o != org)
        assert int(m.message["X-Audit-Kit-Items"]) == len(ids)
        assert org in m.message["Subject"]
    gp2 = by_address["dpo@oak-practice.example"].message.get_payload(decode=True).decode()
    assert "shielded_access" in gp2 and "GP2-u1" in gp2


def test_a_confirmed_finding_is_mailed_once_more_and_a_failed_login_keeps_items_due(
        detected_ws: Path, tmp_path: Path) -> None:
    with Workspace.open(detected_ws, read_only=True) as w, PeopleStore.open(detected_ws) as people:
        sync_findings(w, people, T0)
    with SmtpServer() as smtp:
        config = _config(tmp_path / "audit-kit.yaml", smtp.port)
        bad = {**ENV, "AUDIT_KIT_SMTP_PASSWORD": "wrong"}
        with PeopleStore.open(detected_ws) as people:
            _, failed = send_digests(people, resolve(detected_ws, config, env=bad, notify=True).notify, T0)
            assert failed.failed and not failed.sent and not smtp.state.messages
            _, ok = send_digests(people, resolve(detected_ws, config, env=ENV, notify=True).notify, T0)
            assert len(ok.sent) == len(smtp.state.messages) >= 2
            [gp2] = list_findings(people, FindingFilter(org_ids=("GP2",)))
            review_finding(people, gp2.finding_id, Verdict.CONFIRMED, "no reason to open it", "alice", T0)
            _, more = send_digests(people, resolve(detected_ws, config, env=ENV, notify=True).notify, T0 + timedelta(hours=1))
        assert [a for a, _ in more.sent] == ["dpo@oak-practice.example"]
        body = smtp.state.messages[-1].message.get_payload(decode=True).decode()
        assert "Confirmed by a reviewer" in body and gp2.finding_id in body


def test_digest_settings_are_checked(detected_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["notify", "digest", "-w", str(detected_ws)]) == 2
    assert "no e-mail digest is configured" in capsys.readouterr().err
    remote = _config(tmp_path / "remote.yaml", 25, host="smtp.example.org", starttls=False)
    with pytest.raises(ConfigError, match="unencrypted"):
        resolve(detected_ws, remote, env=ENV, notify=True)
    cred = tmp_path / "cred"
    cred.write_text("no-colon-here\n")
    with pytest.raises(ConfigError, match="user:password"):
        resolve(detected_ws, _config(tmp_path / "c.yaml", 25, credentials_file=str(cred)), env={}, notify=True)
    cfg = _config(tmp_path / "ok.yaml", 2525)
    assert run(["notify", "digest", "-w", str(detected_ws), "-c", str(cfg), "--dry-run", "-f", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dry_run"] and not out["sent"] and {d["to"] for d in out["digests"]} >= {"dpo@oak-practice.example"}


def _published(ws: Path) -> None:
    with Workspace.open(ws, read_only=True) as w, PeopleStore.open(ws) as people:
        sync_findings(w, people, T0)


def test_teams_and_slack_get_a_summary_once_without_user_ids_or_records(detected_ws: Path) -> None:
    _published(detected_ws)
    with HttpServer() as teams, HttpServer() as slack, PeopleStore.open(detected_ws) as people:
        channels = [("teams", teams.url), ("slack", slack.url)]
        _, result = post_summaries(people, channels, T0, min_severity=Severity.LOW)
        assert len(result.posted) == 2 and not result.failed
        _, again = post_summaries(people, channels, T0 + timedelta(hours=1))
        assert again.posted == [] and len(teams.posts) == len(slack.posts) == 1
    card = teams.posts[0].body
    assert card["type"] == "message"
    content = card["attachments"][0]["content"]
    assert card["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert content["type"] == "AdaptiveCard" and "new finding" in content["body"][0]["text"]
    msg = slack.posts[0].body
    assert msg["text"].startswith("audit-kit:") and msg["blocks"][0]["type"] == "header"
    for payload in (card, msg):
        text = json.dumps(payload)
        assert "GP2-u1" not in text and "R-" not in text and "shielded_access" in text
    assert teams.posts[0].headers["idempotency-key"]


def test_chat_refuses_plain_http_to_another_machine(detected_ws: Path) -> None:
    _published(detected_ws)
    with PeopleStore.open(detected_ws) as people, pytest.raises(ConfigError, match="unencrypted"):
        post_summaries(people, [("slack", "http://chat.example.org/hook")], T0)


def test_tickets_for_jira_servicenow_and_a_webhook(detected_ws: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _published(detected_ws)
    with PeopleStore.open(detected_ws) as people:
        assert build_tickets(people) == []  # nothing confirmed yet
        [f] = list_findings(people, FindingFilter(org_ids=("GP2",)))
        review_finding(people, f.finding_id, Verdict.CONFIRMED, "no reason to open it", "alice", T0)
        tickets = build_tickets(people)
    [t] = tickets
    # The priority follows the finding's calibrated severity (a single shielded read is weak evidence: low).
    priority = JIRA_PRIORITY[f.severity]
    assert t.key == f"AK-F-{f.finding_id}" and t.priority == priority and "GP2-u1" in t.description
    rows = list(csv.reader(io.StringIO(jira_csv(tickets))))
    assert rows[0][:5] == ["Summary", "Issue Type", "Priority", "Due Date", "Description"]
    assert rows[1][2] == priority and rows[1][-1] == t.key and rows[0].count("Labels") == 3
    [rec] = servicenow_json(tickets)["records"]
    assert rec["u_correlation_id"] == t.key and rec["u_urgency"] == str(SN_LEVEL[priority]) and rec["u_short_description"]

    out = tmp_path / "tickets.csv"
    assert run(["tickets", "export", "-w", str(detected_ws), "-f", "jira", "-o", str(out)]) == 0
    assert t.key in out.read_text()
    assert run(["tickets", "export", "-w", str(detected_ws), "-f", "servicenow", "-o", str(tmp_path / "t.json")]) == 0
    assert json.loads((tmp_path / "t.json").read_text())["records"][0]["u_correlation_id"] == t.key

    with HttpServer(status=400) as down:
        assert run(["tickets", "post", "-w", str(detected_ws), "--webhook", down.url]) == 1
    with HttpServer() as desk:
        assert run(["tickets", "post", "-w", str(detected_ws), "--webhook", desk.url]) == 0
        assert run(["tickets", "post", "-w", str(detected_ws), "--webhook", desk.url]) == 0  # idempotent
        assert len(desk.posts) == 1
        assert desk.posts[0].headers["idempotency-key"] == t.key and desk.posts[0].body["key"] == t.key
        with PeopleStore.open(detected_ws) as people:
            assert post_tickets(people, tickets, desk.url, datetime(2026, 10, 2)).skipped == 1
    assert "1 already posted" in capsys.readouterr().out


def test_a_digest_interval_holds_items_for_the_next_digest(detected_ws: Path, tmp_path: Path) -> None:
    _published(detected_ws)
    with SmtpServer() as smtp, PeopleStore.open(detected_ws) as people:
        settings = resolve(detected_ws, _config(tmp_path / "daily.yaml", smtp.port, every_hours=24), env=ENV, notify=True).notify
        _, first = send_digests(people, settings, T0)
        [gp2] = list_findings(people, FindingFilter(org_ids=("GP2",)))
        review_finding(people, gp2.finding_id, Verdict.CONFIRMED, "no reason to open it", "alice", T0)
        _, soon = send_digests(people, settings, T0 + timedelta(hours=2))
        _, next_day = send_digests(people, settings, T0 + timedelta(hours=25))
    assert first.sent and not soon.sent and [a for a, _ in next_day.sent] == ["dpo@oak-practice.example"]


def test_notify_chat_dry_run_shows_the_payload_and_posts_nothing(detected_ws: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["notify", "chat", "-w", str(detected_ws)]) == 2
    assert "no chat webhook configured" in capsys.readouterr().err
    with HttpServer() as teams:
        monkeypatch.setenv("AUDIT_KIT_TEAMS_WEBHOOK", teams.url)
        low = tmp_path / "chat.yaml"  # the planted shielded read is low under the calibrated severities
        low.write_text("notify:\n  chat:\n    min_severity: low\n")
        assert run(["notify", "chat", "-w", str(detected_ws), "-c", str(low), "--dry-run"]) == 0
        [payload] = json.loads(capsys.readouterr().out)
        assert payload["teams"]["type"] == "message" and not teams.posts
        assert run(["notify", "chat", "-w", str(detected_ws), "-c", str(low)]) == 0
        assert len(teams.posts) == 1 and " to teams" in capsys.readouterr().out  # one post, every low+ finding in it
