"""`audit-kit users`: adding people with a role, the errors a user can hit, listing and disabling."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from audit_kit.cli import run
from audit_kit.store import web
from audit_kit.store.people import PeopleStore


def _add(monkeypatch, ws: Path, *args: str, password: str = "a-long-password-1") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    return run(["users", "add", *args, "-w", str(ws), "--password-stdin"])


def test_add_list_disable(world, monkeypatch, capsys) -> None:
    ws = world.path
    assert _add(monkeypatch, ws, "sam", "--role", "dpo", "--org", "PF004") == 0
    assert "added sam (dpo, PF004)" in capsys.readouterr().out
    assert run(["users", "list", "-w", str(ws), "--format", "json"]) == 0
    users = {u["username"]: u for u in json.loads(capsys.readouterr().out)}
    assert users["sam"]["role"] == "dpo" and users["sam"]["org_id"] == "PF004" and users["sam"]["state"] == "active"
    with PeopleStore.open(ws) as people:
        stored = web.password_hash(people, "sam")
    assert stored is not None and stored.startswith("$argon2id$") and "a-long-password-1" not in stored
    assert (ws / "people.sqlite").stat().st_mode & 0o077 == 0  # owner-only: it holds hashes and the log
    assert run(["users", "disable", "sam", "-w", str(ws)]) == 0
    assert run(["users", "enable", "sam", "-w", str(ws)]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(("args", "password", "message"), [
    (["x y", "--role", "reviewer"], "a-long-password-1", "username 'x y'"),
    (["val", "--role", "boss"], "a-long-password-1", "role 'boss': expected one of reviewer, dpo, admin"),
    (["val", "--role", "dpo"], "a-long-password-1", "a dpo needs --org"),
    (["val", "--role", "reviewer", "--org", "LA001"], "a-long-password-1", "--org is for a dpo only"),
    (["val", "--role", "dpo", "--org", "XX999"], "a-long-password-1", "--org 'XX999': not an organisation"),
    (["val", "--role", "reviewer"], "short", "password: at least 12 characters"),
    (["rita", "--role", "reviewer"], "a-long-password-1", "user 'rita' already exists"),
])
def test_add_errors_are_usage_errors(world, monkeypatch, capsys, args, password, message) -> None:
    assert _add(monkeypatch, world.path, *args, password=password) == 2
    assert message in capsys.readouterr().err


def test_unknown_user_and_missing_password(world, monkeypatch, capsys) -> None:
    assert run(["users", "disable", "nobody", "-w", str(world.path)]) == 2
    assert "no user 'nobody'" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert run(["users", "add", "val", "--role", "reviewer", "-w", str(world.path)]) == 2
    assert "--password-stdin" in capsys.readouterr().err
