"""The JSON API: the same rules as the pages — a DPO sees their own body only, every read is logged,
no raw record id leaves the app, writes need the session's CSRF token."""

from __future__ import annotations

import json

from starlette.testclient import TestClient
from web_world import OTHER, OWN, RAW_LEAK, signed_in

from audit_kit.cli import run
from audit_kit.store import web
from audit_kit.store.people import PeopleStore


def _log(world) -> list[dict]:
    with PeopleStore.open(world.path) as people:
        return [e.to_json() for e in web.access_entries(people)]


def test_dpo_is_refused_another_body_and_both_reads_are_logged(world, clients, capsys) -> None:
    before = len(_log(world))
    assert clients["dora"].get(f"/api/orgs/{OTHER}").status_code == 403
    own = clients["dora"].get(f"/api/orgs/{OWN}")
    assert own.status_code == 200 and own.json()["org_id"] == OWN
    assert clients["rita"].get(f"/api/orgs/{OTHER}").status_code == 200
    new = _log(world)[before:]
    assert [(e["username"], e["action"], e["org_id"], e["status"]) for e in new] == [
        ("dora", "view_org", OTHER, 403), ("dora", "view_org", OWN, 200), ("rita", "view_org", OTHER, 200)]
    assert all(e["ip"] for e in new)
    capsys.readouterr()
    assert run(["access-log", "-w", str(world.path), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["chain"]["ok"] is True and out["chain"]["entries"] >= 3
    assert {(e["username"], e["org_id"], e["status"]) for e in out["entries"]} >= {
        ("dora", OTHER, 403), ("rita", OTHER, 200)}


def test_lists_are_cut_to_what_the_role_may_see(clients) -> None:
    assert [o["org_id"] for o in clients["dora"].get("/api/orgs").json()["orgs"]] == [OWN]
    assert len(clients["rita"].get("/api/orgs").json()["orgs"]) == 4
    assert clients["adam"].get("/api/orgs").status_code == 403  # an admin manages users, not data
    mine = clients["dora"].get("/api/findings").json()["findings"]
    assert mine and {f["org_id"] for f in mine} == {OWN}
    assert clients["dora"].get(f"/api/findings?org={OTHER}").status_code == 403
    theirs = clients["rita"].get(f"/api/findings?org={OTHER}").json()["findings"]
    assert theirs and {f["org_id"] for f in theirs} == {OTHER}
    other_id = theirs[0]["finding_id"]
    assert clients["dora"].get(f"/api/findings/{other_id}").status_code == 403
    assert clients["dora"].get("/api/findings/no-such-finding").status_code == 403  # no probing for ids
    assert clients["rita"].get("/api/findings/no-such-finding").status_code == 404


def test_no_raw_record_id_in_any_answer(world, clients) -> None:
    texts = [clients["rita"].get(p).text for p in ("/api/orgs", "/api/findings", *(f"/api/orgs/{o}" for o in
                                                                                   ("LA001", "GP002", "SC003")))]
    findings = clients["rita"].get("/api/findings").json()["findings"]
    texts += [clients["rita"].get(f"/api/findings/{f['finding_id']}").text for f in findings]
    blob = "\n".join(texts)
    assert "R-" in blob  # pseudonyms are there …
    leaked = [rid for rid in world.raw_ids if rid in blob]
    assert RAW_LEAK not in blob and not leaked  # … raw ids are not, even the one a detector let slip


def test_review_through_the_api(app, clients) -> None:
    rita = clients["rita"]
    fid = rita.get(f"/api/findings?org={OWN}").json()["findings"][0]["finding_id"]
    bare = TestClient(app, base_url="http://127.0.0.1")
    bare.cookies.update(rita.cookies)
    r = bare.post(f"/api/findings/{fid}/review", json={"state": "under_review"})
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["error"]
    r = rita.post(f"/api/findings/{fid}/review", json={"state": "confirmed"})
    assert r.status_code == 400 and "needs a note" in r.json()["error"]
    r = rita.post(f"/api/findings/{fid}/review", json={"state": "bogus", "note": "x"})
    assert r.status_code == 400 and "expected one of" in r.json()["error"]
    r = rita.post(f"/api/findings/{fid}/review", json={"state": "under_review", "assignee": "ravi"})
    assert r.status_code == 200
    assert r.json() == {"finding_id": fid, "state": "under_review", "assignee": "ravi", "rule": None}
    r = rita.post(f"/api/findings/{fid}/review", json={"state": "confirmed", "note": "Spoke to the DPO: not work."})
    assert r.status_code == 200 and r.json()["state"] == "confirmed" and r.json()["rule"] is None
    seen = clients["dora"].get(f"/api/findings/{fid}").json()["review"]
    assert seen["state"] == "confirmed"
    assert [(h["what"], h["state"], h["by"]) for h in seen["history"]] == [
        ("detected", "open", "publication"), ("assigned", "under_review", "rita"), ("verdict", "confirmed", "rita")]
    assert clients["dora"].post(f"/api/findings/{fid}/review", json={"state": "open", "note": "no"}).status_code == 403
    r = rita.post(f"/api/findings/{fid}/review", json={"assignee": "dora"})
    assert r.status_code == 400 and "not an active reviewer" in r.json()["error"]
    r = rita.post(f"/api/findings/{fid}/review", json={"state": "under_review", "note": "again"})
    assert r.status_code == 400 and "reopen it first" in r.json()["error"]


def test_a_browser_verdict_leaves_the_rule_a_cli_verdict_leaves(app, clients, world) -> None:
    """A false positive given through the API is the workflow's verdict: an expiring suppression that
    the next scan's triage honours, visible to `audit-kit findings suppressions`."""
    from audit_kit.review import RuleKind, rules, triage

    rita = clients["rita"]
    found = rita.get(f"/api/findings?org={OTHER}").json()["findings"]
    fid = found[-1]["finding_id"]
    for bad, why in (({"suppress_days": 0}, "1 to 730"), ({"suppress_days": "30"}, "whole number"),
                     ({"suppress_days": 731}, "1 to 730"), ({"explained_by": "friendship"}, "expected one of")):
        r = rita.post(f"/api/findings/{fid}/review", json={"state": "false_positive", "note": "rota", **bad})
        assert r.status_code == 400 and why in r.json()["error"], r.json()
    r = rita.post(f"/api/findings/{fid}/review", json={"state": "false_positive", "note": "Rota cover, agreed with DPO",
                                                      "suppress_days": 14})
    assert r.status_code == 200 and r.json()["state"] == "false_positive" and r.json()["rule"].startswith("suppression")
    with PeopleStore.open(world.path) as people:
        now = web.utcnow().replace(tzinfo=None)
        (rule,) = [x for x in rules(people, now) if x.source_finding == fid]
    assert rule.kind is RuleKind.SUPPRESSION and rule.created_by == "rita" and rule.note == "Rota cover, agreed with DPO"
    assert rule.expires_at is not None and 13 <= (rule.expires_at - now).days <= 14
    from audit_kit.store.findings import load_findings
    from audit_kit.store.workspace import Workspace

    ws = Workspace.open(world.path, read_only=True)
    try:
        stored = [f for f in load_findings(ws) if f.finding_id == fid]
    finally:
        ws.close()
    assert fid in triage(world.path, stored, now).suppressed
    # Reopening through the browser revokes it: the pattern is alerted again.
    r = rita.post(f"/api/findings/{fid}/review", json={"state": "open", "note": "New evidence from the DPO"})
    assert r.status_code == 200 and r.json()["state"] == "open" and r.json()["rule"] is None
    assert fid not in triage(world.path, stored, web.utcnow().replace(tzinfo=None)).suppressed


def test_sign_in_errors(app, world) -> None:
    c = TestClient(app, base_url="http://127.0.0.1")
    assert c.get("/api/orgs").status_code == 401
    assert c.post("/api/login", content=b"not json", headers={"content-type": "application/json"}).status_code == 400
    assert c.post("/api/login", json={"username": "rita"}).status_code == 400
    r = c.post("/api/login", json={"username": "nobody", "password": "whatever-it-is"})
    assert r.status_code == 401 and "wrong username or password" in r.json()["error"]
    with PeopleStore.open(world.path) as people:
        failed = [e for e in web.access_entries(people) if e.action == "login_failed"]
    assert failed and failed[-1].object_id == "nobody" and failed[-1].status == 401


def test_lockout_after_repeated_failures(app, world) -> None:
    from audit_kit.web.auth import hash_password

    with PeopleStore.open(world.path) as people:
        web.add_user(people, "lou", "reviewer", None, hash_password("lou-password-123"), "test", web.utcnow())
    c = TestClient(app, base_url="http://127.0.0.1")
    for _ in range(5):
        assert c.post("/api/login", json={"username": "lou", "password": "wrong-password!"}).status_code == 401
    # Locked now: even the right password is refused, with the same words.
    r = c.post("/api/login", json={"username": "lou", "password": "lou-password-123"})
    assert r.status_code == 401
    with PeopleStore.open(world.path) as people:
        user = web.get_user(people, "lou")
        assert user is not None and user.locked_until is not None
        web.set_password_hash(people, "lou", hash_password("lou-password-456"))  # an admin's reset unlocks
    assert c.post("/api/login", json={"username": "lou", "password": "lou-password-456"}).status_code == 200


def test_disabled_user_is_signed_out_at_once(app, world) -> None:
    from audit_kit.web.auth import hash_password

    with PeopleStore.open(world.path) as people:
        web.add_user(people, "dee", "reviewer", None, hash_password("dee-password-123"), "test", web.utcnow())
    c = TestClient(app, base_url="http://127.0.0.1")
    assert c.post("/api/login", json={"username": "dee", "password": "dee-password-123"}).status_code == 200
    assert c.get("/api/orgs").status_code == 200
    assert run(["users", "disable", "dee", "-w", str(world.path)]) == 0
    assert c.get("/api/orgs").status_code == 401
    assert c.post("/api/login", json={"username": "dee", "password": "dee-password-123"}).status_code == 401


def test_logout_ends_the_session(app) -> None:
    c = signed_in(app, "ravi")
    assert c.get("/api/orgs").status_code == 200
    assert c.post("/api/logout").status_code == 200
    assert c.get("/api/orgs").status_code == 401
