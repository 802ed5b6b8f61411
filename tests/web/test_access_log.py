"""The tool's own access log: append-only, hash-chained, verified by `audit-kit access-log`, which names
the first entry of a broken chain and exits 1; and the summary a report's limitations section uses."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from audit_kit.cli import run
from audit_kit.store import web
from audit_kit.store.people import PeopleStore


def _fill(path: Path, n: int = 6) -> None:
    path.mkdir(parents=True, exist_ok=True)
    now = web.utcnow()
    with PeopleStore.open(path) as people:
        for i in range(n):
            web.append_access(people, at=now + timedelta(seconds=i), username="rita" if i % 2 else "dora",
                              role="reviewer" if i % 2 else "dpo", ip="127.0.0.1", method="GET",
                              path=f"/orgs/LA00{i}", action="view_org", object_kind="org", object_id=f"LA00{i}",
                              org_id=f"LA00{i}", status=200 if i % 3 else 403)


def _raw(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path / "people.sqlite", isolation_level=None)
    con.execute("DROP TRIGGER web_access_log_no_update")  # what a tamperer with file access could do
    con.execute("DROP TRIGGER web_access_log_no_delete")
    return con


def test_the_log_refuses_updates_and_deletes(tmp_path: Path) -> None:
    _fill(tmp_path)
    with PeopleStore.open(tmp_path) as people:
        for sql in ("UPDATE web_access_log SET username = 'x'", "DELETE FROM web_access_log WHERE seq = 2"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                people.con.execute(sql)
        assert web.verify_access_log(people).ok


def test_a_clean_chain_verifies(tmp_path: Path, capsys) -> None:
    _fill(tmp_path)
    assert run(["access-log", "-w", str(tmp_path), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["chain"] == {"ok": True, "entries": 6, "broken_at": None, "reason": None,
                            "head": out["entries"][-1]["hash"]}
    assert [e["seq"] for e in out["entries"]] == [1, 2, 3, 4, 5, 6]
    assert out["entries"][1]["prev_hash"] == out["entries"][0]["hash"]
    assert run(["access-log", "-w", str(tmp_path), "--user", "rita"]) == 0
    assert "3 access-log entries" in capsys.readouterr().out


@pytest.mark.parametrize(("tamper", "seq", "reason"), [
    ("UPDATE web_access_log SET org_id = 'GP999' WHERE seq = 3", 3, "edited"),
    ("DELETE FROM web_access_log WHERE seq = 4", 5, "missing"),
    ("UPDATE web_access_log SET prev_hash = hash WHERE seq = 2", 2, "link"),
])
def test_a_broken_chain_is_named(tmp_path: Path, capsys, tamper: str, seq: int, reason: str) -> None:
    _fill(tmp_path)
    con = _raw(tmp_path)
    con.execute(tamper)
    con.close()
    assert run(["access-log", "-w", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"access log chain broken at entry {seq}" in err and reason in err
    assert run(["access-log", "-w", str(tmp_path), "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["chain"]["ok"] is False and out["chain"]["broken_at"] == seq


def test_bad_dates_are_usage_errors(tmp_path: Path, capsys) -> None:
    _fill(tmp_path, 1)
    assert run(["access-log", "-w", str(tmp_path), "--since", "last week"]) == 2
    assert "--since 'last week': expected a date YYYY-MM-DD" in capsys.readouterr().err
    assert run(["access-log", "-w", str(tmp_path / "nowhere")]) == 2


def test_access_summary_for_the_report(tmp_path: Path) -> None:
    _fill(tmp_path)
    with PeopleStore.open(tmp_path) as people:
        s = web.access_summary(people)
    assert s.entries == 6 and s.chain_ok
    assert s.people["rita"]["role"] == "reviewer" and s.people["rita"]["reads"] == 2
    assert s.people["rita"]["denied"] == 1 and s.people["dora"]["orgs"] == ["LA002", "LA004"]
