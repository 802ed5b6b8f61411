"""The web tests' world: the report tests' hand-built workspace (hostile names, a raw record id in
evidence, two dated assessments), its read models published, and one user of each role.

A uniquely named module rather than conftest, as graph_world.py and scan_helpers.py are."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))

import report_world  # noqa: E402

from audit_kit.app.readmodels import refresh_read_models  # noqa: E402
from audit_kit.store import web  # noqa: E402
from audit_kit.store.assessments import store_assessment  # noqa: E402
from audit_kit.store.people import PeopleStore  # noqa: E402
from audit_kit.web.auth import hash_password  # noqa: E402
from audit_kit.web.settings import WebSettings  # noqa: E402

PASSWORDS = {"rita": "reviewer-password-1", "ravi": "reviewer-password-2", "dora": "dpo-password-123",
             "adam": "admin-password-12"}
ROLES = {"rita": ("reviewer", None), "ravi": ("reviewer", None), "dora": ("dpo", "LA001"), "adam": ("admin", None)}
OWN, OTHER = "LA001", "GP002"
RAW_LEAK = report_world.RAW_LEAK
HOSTILE_NAME = report_world.HOSTILE_NAME


@dataclass(frozen=True)
class World:
    path: Path
    raw_ids: list[str]


def build(path: Path) -> World:
    ws = report_world.build(path)
    with ws.transaction():
        store_assessment(ws, report_world.assessment(as_of=date(2026, 3, 1)))
        store_assessment(ws, report_world.assessment(as_of=date(2026, 4, 1), previous_id="A-2026-03-01"))
    raw = report_world.raw_record_ids(ws)
    ws.close()
    assert refresh_read_models(path).status == "published"
    now = web.utcnow()
    with PeopleStore.open(path) as people:
        for name, (role, org) in ROLES.items():
            web.add_user(people, name, role, org, _hash(name), "test", now)
    return World(path, raw)


_HASHES: dict[str, str] = {}


def _hash(name: str) -> str:
    """argon2id costs ~0.3 s a hash by design: each test process hashes each password once."""
    if name not in _HASHES:
        _HASHES[name] = hash_password(PASSWORDS[name])
    return _HASHES[name]


def settings(path: Path, **kw: Any) -> WebSettings:
    base: dict[str, Any] = {"workspace": path, "session_idle": timedelta(minutes=30)}
    base.update(kw)
    return WebSettings(**base)


def questionnaire_csv(org_id: str, overrides: dict[str, str] | None = None) -> bytes:
    """A complete CSV questionnaire for `org_id` answering every control of the shipped catalogue
    plausibly; `overrides` replaces answers by control id (to plant errors)."""
    from audit_kit.catalogue import SHIPPED

    plain = {"yes_no": "yes", "yes_partial_no": "yes", "percentage": "98", "number": "2", "date": "2026-01-15",
             "text": "described in our policy"}
    lines = ["org_id,checklist,submitted,control_id,answer,evidence,comment"]
    for c in SHIPPED.load("accessing-organisation").controls:
        answer = next(iter(c.choices)) if c.choices else plain[c.answer_type.value]
        answer = (overrides or {}).get(c.id, answer)
        lines.append(f"{org_id},accessing-organisation,2026-03-20,{c.id},{answer},,")
    return ("\n".join(lines) + "\n").encode()


def signed_in(app, username: str) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1")
    r = client.post("/api/login", json={"username": username, "password": PASSWORDS[username]})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client
