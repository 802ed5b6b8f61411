"""The review's commands as a user types them, and every mistake a user can make with them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from review_world import COWORKER, COWORKER_READER, SELF_LOOKUP, SNOOPER

from audit_kit.cli import run


def _list(ws: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    capsys.readouterr()  # what earlier commands printed
    assert run(["findings", "list", "-w", str(ws), "-f", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_reviewer_works_a_finding_from_the_command_line(detected_ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = str(detected_ws)
    found = _list(detected_ws, capsys, "--status", "open")
    snoop = next(f for f in found if f["user_id"] == SNOOPER)
    short = snoop["finding_id"][:8]
    assert run(["findings", "start", short, "-w", ws, "-r", "alice"]) == 0
    assert run(["findings", "assign", short, "-w", ws, "--to", "bob", "-r", "alice", "-n", "GP lead"]) == 0
    assert run(["findings", "note", short, "-w", ws, "-n", "asked the practice", "-r", "bob"]) == 0
    assert "assigned to bob" in capsys.readouterr().out
    assert run(["findings", "review", short, "-w", ws, "-v", "confirmed", "-n", "no reason to open it", "-r", "bob",
                "-f", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["finding"]["state"] == "confirmed" and out["rule"] is None
    assert run(["findings", "show", short, "-w", ws, "-f", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in shown["history"]] == ["detected", "state", "assigned", "note", "verdict"]
    assert shown["history"][-1]["actor"] == "bob" and shown["assignee"] == "bob"
    assert [f["finding_id"] for f in _list(detected_ws, capsys, "--status", "confirmed", "--org", "GP2")] == \
        [snoop["finding_id"]]
    assert run(["findings", "list", "-w", ws, "-f", "csv", "--status", "closed"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["state"] for r in rows] == ["confirmed"] and rows[0]["updated_by"] == "bob"
    assert run(["findings", "reopen", short, "-w", ws, "-n", "the DPO disputes it", "-r", "carol"]) == 0
    assert snoop["finding_id"] in {f["finding_id"] for f in _list(detected_ws, capsys, "--status", "open")}


def test_suppressions_are_listed_and_revocable(detected_ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = str(detected_ws)
    [f] = [x for x in _list(detected_ws, capsys) if x["user_id"] == SELF_LOOKUP]
    assert run(["findings", "review", f["finding_id"], "-w", ws, "-v", "false_positive", "-n", "own child, agreed",
                "--suppress-days", "30", "-r", "alice"]) == 0
    assert "suppression of detector family_lookup" in capsys.readouterr().out
    assert run(["findings", "suppressions", "-w", ws, "-f", "json"]) == 0
    [rule] = json.loads(capsys.readouterr().out)
    assert rule["active"] and rule["kind"] == "suppression" and rule["note"] == "own child, agreed"
    assert run(["findings", "revoke", rule["rule_id"], "-w", ws, "-n", "policy changed", "-r", "bob"]) == 0
    assert "revoked by bob" in capsys.readouterr().out
    assert run(["findings", "suppressions", "-w", ws, "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert run(["findings", "suppressions", "-w", ws, "--all", "-f", "csv"]) == 0
    [row] = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["rule_id"] == rule["rule_id"] and row["revoked_at"] and row["active"] == "False"


def test_people_over_time_from_the_command_line(detected_ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = str(detected_ws)
    assert run(["people", "lookups", "-w", ws, "-f", "json"]) == 0
    lookups = json.loads(capsys.readouterr().out)
    kinds = {(x["kind"], x["user_id"], x["colleague"]) for x in lookups}
    assert ("self", SELF_LOOKUP, None) in kinds and ("coworker", COWORKER_READER, COWORKER) in kinds
    assert all(x["record"].startswith("R-") for x in lookups)
    assert run(["people", "lookups", "-w", ws, "--kind", "coworker", "-f", "json"]) == 0
    assert {x["kind"] for x in json.loads(capsys.readouterr().out)} == {"coworker"}
    assert run(["people", "history", SNOOPER, "-w", ws, "-f", "json"]) == 0
    p = json.loads(capsys.readouterr().out)
    assert p["user_id"] == SNOOPER and p["risk_score"] > 0 and p["history"] and p["findings"]
    assert run(["people", "offenders", "-w", ws, "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize("argv, message", [
    (["findings", "review", "zzzzzzzz", "-v", "confirmed", "-n", "x", "-r", "a"], "not found"),
    (["findings", "review", "{snoop}", "-v", "false_positive", "-n", "x", "-r", "a"], "--suppress-days"),
    (["findings", "review", "{snoop}", "-v", "maybe", "-n", "x", "-r", "a"], "maybe"),
    (["findings", "review", "{snoop}", "-v", "confirmed", "-n", "x", "-r", ""], "who is acting"),
    (["findings", "review", "{snoop}", "-v", "explained", "-n", "x", "-r", "a", "--explained-by", "magic"], "magic"),
    (["findings", "list", "--status", "pending"], "--status 'pending'"),
    (["findings", "start", "{snoop}", "-r", "a", "-n", "again"], None),
    (["findings", "reopen", "{snoop}", "-n", "x", "-r", "a"], "only a judged finding"),
    (["findings", "revoke", "sup-missing", "-n", "x", "-r", "a"], "no such"),
    (["people", "history", "NOBODY"], "no findings, history"),
    (["people", "lookups", "--kind", "cousins"], "--kind"),
])
def test_mistakes_are_usage_errors_naming_what_is_wrong(detected_ws: Path, capsys: pytest.CaptureFixture[str],
                                                        argv: list[str], message: str | None) -> None:
    snoop = next(f for f in _list(detected_ws, capsys) if f["user_id"] == SNOOPER)["finding_id"]
    argv = [a.replace("{snoop}", snoop) for a in argv]
    if message is None:  # starting twice: the second is the mistake
        assert run([*argv, "-w", str(detected_ws)]) == 0
        capsys.readouterr()
        message = "not open"
    assert run([*argv, "-w", str(detected_ws)]) == 2
    assert message in capsys.readouterr().err


def test_no_workspace_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["findings", "list"], ["people", "offenders"], ["tickets", "export", "-f", "jira", "-o", "x.csv"],
                 ["notify", "digest"]):
        assert run([*argv, "-w", str(tmp_path / "nowhere")]) == 2
        assert "no audit-kit workspace" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["findings", "list", "-f", "json"], ["findings", "suppressions", "-f", "json"],
    ["subject-access", "C0007"], ["tickets", "export", "-f", "jira"],
])
def test_output_into_a_missing_folder_is_refused(detected_template: Path, tmp_path: Path, argv: list[str],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "no" / "such" / "out.file"
    assert run([*argv, "-w", str(detected_template), "-o", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err and not out.exists()
