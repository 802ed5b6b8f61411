"""The pages: what each role sees and may do, the security headers, CSRF on every form, escaping of
hostile names, the questionnaire upload's errors, action-plan responses and downloads."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from starlette.testclient import TestClient
from web_world import HOSTILE_NAME, OTHER, OWN, PASSWORDS, questionnaire_csv, settings, signed_in

from audit_kit.store import web
from audit_kit.store.people import PeopleStore
from audit_kit.web.app import CSP, create_app
from audit_kit.web.auth import resume

PAGES = {"rita": ["/", "/orgs", f"/orgs/{OWN}", f"/orgs/{OTHER}", "/findings", "/reports",
                  f"/orgs/{OWN}/questionnaire"],
         "dora": [f"/orgs/{OWN}", "/findings", "/reports", f"/orgs/{OWN}/questionnaire"],
         "adam": ["/admin/users", "/admin/access-log"]}


def _browser(app, username: str) -> TestClient:
    """A client signed in through the login form, as a browser is (no CSRF header set by default)."""
    c = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    page = c.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = c.post("/login", data={"csrf": token, "username": username, "password": PASSWORDS[username], "next": "/"})
    assert r.status_code == 303, r.text
    return c


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def browsers(app):
    return {u: _browser(app, u) for u in ("rita", "dora", "adam")}


@pytest.mark.parametrize("user", sorted(PAGES))
def test_every_page_is_safe_markup(browsers, user) -> None:
    for path in PAGES[user]:
        r = browsers[user].get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert r.headers["content-security-policy"] == CSP and "unsafe-inline" not in CSP
        assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
        assert not re.search(r"<script(?![^>]*\bsrc=)", r.text), f"inline script on {path}"
        assert not re.search(r"\sstyle=|\son[a-z]+=", r.text), f"inline style or handler on {path}"
        assert "<script>alert(1)</script>" not in r.text and 'src="http://evil' not in r.text


def test_hostile_names_are_escaped(browsers) -> None:
    page = browsers["rita"].get("/").text
    assert "Evil &lt;img src=" in page and HOSTILE_NAME not in page


def test_sign_in_cookie_flags_and_login_csrf(app, world) -> None:
    c = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    r = c.post("/login", data={"csrf": "forged", "username": "rita", "password": PASSWORDS["rita"]})
    assert r.status_code == 403 and "ak_session" not in r.cookies
    page = c.get("/login")
    r = c.post("/login", data={"csrf": _csrf(page.text), "username": "rita", "password": PASSWORDS["rita"],
                               "next": "//evil.example/"})
    assert r.status_code == 303 and r.headers["location"] == "/"  # no open redirect
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Secure" not in cookie
    secure = create_app(settings(world.path, secure_cookies=True))
    c2 = TestClient(secure, base_url="https://127.0.0.1", follow_redirects=False)
    page = c2.get("/login")
    r = c2.post("/login", data={"csrf": _csrf(page.text), "username": "rita", "password": PASSWORDS["rita"]})
    assert "Secure" in r.headers["set-cookie"]


def test_unsigned_visitors_are_sent_to_sign_in(app) -> None:
    c = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    r = c.get("/findings")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Ffindings"
    assert c.get("/static/web.css").status_code == 200


def test_dpo_sees_only_their_body(browsers) -> None:
    dora = browsers["dora"]
    r = dora.get("/")
    assert r.status_code == 303 and r.headers["location"] == f"/orgs/{OWN}"
    for path in (f"/orgs/{OTHER}", f"/orgs/{OTHER}/pack", f"/orgs/{OTHER}/questionnaire", f"/findings?org={OTHER}",
                 "/reports/national.pdf", "/admin/users"):
        r = dora.get(path)
        assert r.status_code == 403, path
        assert "Not yours to see" in r.text
    listed = dora.get("/orgs").text
    assert f"/orgs/{OWN}" in listed and f"/orgs/{OTHER}" not in listed
    queue = dora.get("/findings").text
    assert f"<td>{OTHER}</td>" not in queue and f"<td>{OWN}</td>" in queue


def test_admin_manages_users_but_reads_no_body(browsers, world) -> None:
    adam = browsers["adam"]
    assert adam.get(f"/orgs/{OWN}").status_code == 403 and adam.get("/findings").status_code == 403
    page = adam.get("/admin/users")
    r = adam.post("/admin/users", data={"csrf": _csrf(page.text), "username": "newdpo", "role": "dpo", "org": "",
                                        "password": "long-enough-pass"})
    assert r.status_code == 400 and "a dpo needs --org" in r.text
    r = adam.post("/admin/users", data={"csrf": _csrf(page.text), "username": "newdpo", "role": "dpo",
                                        "org": "SC003", "password": "long-enough-pass"})
    assert r.status_code == 303
    r = adam.post("/admin/users/newdpo/disable", data={"csrf": _csrf(page.text)})
    assert r.status_code == 303
    with PeopleStore.open(world.path) as people:
        user = web.get_user(people, "newdpo")
    assert user is not None and user.org_id == "SC003" and user.disabled
    log = adam.get("/admin/access-log").text
    assert "Chain verifies" in log and "add_user" in log


def test_forms_need_the_csrf_token(browsers) -> None:
    rita = browsers["rita"]
    fid = re.search(r'href="/findings/([0-9a-f]+)"', rita.get(f"/findings?org={OWN}").text).group(1)
    r = rita.post(f"/findings/{fid}/review", data={"state": "under_review", "note": "x"})
    assert r.status_code == 403 and "Form expired" in r.text
    r = rita.post(f"/findings/{fid}/review", data={"state": "under_review", "note": "x", "csrf": "wrong"})
    assert r.status_code == 403
    page = rita.get(f"/findings/{fid}")
    assert "Evidence" in page.text
    r = rita.post(f"/findings/{fid}/review", data={"state": "explained", "note": "", "csrf": _csrf(page.text)})
    assert r.status_code == 400 and "needs a note" in r.text
    r = rita.post(f"/findings/{fid}/review", data={"state": "explained", "note": "Duty social worker on call.",
                                                  "explained_by": "other", "suppress_days": "",
                                                  "csrf": _csrf(page.text)})
    assert r.status_code == 303
    shown = rita.get(f"/findings/{fid}").text
    assert "Duty social worker on call." in shown and "In force: explanation exp-" in shown
    # The queue's htmx form answers with the updated row only.
    r = rita.post(f"/findings/{fid}/review", data={"state": "open", "note": "Reopened: new evidence",
                                                  "csrf": _csrf(page.text)}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.text.lstrip().startswith(f'<tr id="f-{fid}"') and "Open" in r.text


def test_questionnaire_upload_shows_every_error_and_stores_nothing(browsers, world) -> None:
    dora = browsers["dora"]
    page = dora.get(f"/orgs/{OWN}/questionnaire")
    bad = questionnaire_csv(OWN, {"IAM-02": "lots", "GOV-04": "2030-01-01", "NTK-01": ""})
    r = dora.post(f"/orgs/{OWN}/questionnaire", data={"csrf": _csrf(page.text)},
                  files={"file": ("answers.csv", bad, "text/csv")})
    assert r.status_code == 400 and "Not submitted: 3 problem(s)" in r.text
    problems = re.findall(r"<tr><td>(row \d+)</td><td>([A-Z]+-\d+)</td><td>([^<]+)</td></tr>", r.text)
    assert ("row 15", "IAM-02", "expected a percentage 0-100; got &#39;lots&#39;") in problems
    assert {c for _, c, _ in problems} == {"IAM-02", "GOV-04", "NTK-01"}
    r = dora.post(f"/orgs/{OWN}/questionnaire", data={"csrf": _csrf(page.text)},
                  files={"file": ("theirs.csv", questionnaire_csv(OTHER), "text/csv")})
    assert r.status_code == 400 and "upload your own body" in r.text
    r = dora.post(f"/orgs/{OWN}/questionnaire", data={"csrf": _csrf(page.text)},
                  files={"file": ("answers.pdf", b"%PDF-1.4", "application/pdf")})
    assert r.status_code == 400 and "unsupported format" in r.text
    with PeopleStore.open(world.path) as people:
        assert web.submissions(people, OWN) == []
    r = dora.post(f"/orgs/{OWN}/questionnaire", data={"csrf": _csrf(page.text)},
                  files={"file": ("answers.csv", questionnaire_csv(OWN), "text/csv")})
    assert r.status_code == 200 and "Received" in r.text and "40 answers" in r.text
    with PeopleStore.open(world.path) as people:
        (got,) = web.submissions(people, OWN)
    assert got.answers == 40 and got.username == "dora" and got.state == "received"
    # A reviewer sees what was received but does not answer for a body.
    rita = browsers["rita"]
    assert "answers.csv" in rita.get(f"/orgs/{OWN}/questionnaire").text
    r = rita.post(f"/orgs/{OWN}/questionnaire", data={"csrf": _csrf(page.text)},
                  files={"file": ("answers.csv", questionnaire_csv(OWN), "text/csv")})
    assert r.status_code == 403


def test_dpo_responds_to_the_action_plan(browsers, world) -> None:
    """A response given in the browser is an action-plan response like a returned workbook's row: it
    is what `audit-kit actions` and the next report read."""
    from audit_kit.store import actions as action_store

    dora = browsers["dora"]
    page = dora.get(f"/orgs/{OWN}").text
    action_id = html.unescape(re.search(r'name="action_id" value="([^"]+)"', page).group(1))
    form = {"csrf": _csrf(page), "action_id": action_id, "response": "agreed", "status": "in progress",
            "owner_name": "J. Patel, IT lead", "agreed_date": "2026-06-30", "comment": "New starter vetting from May.",
            "evidence": ""}
    for bad, why in (({"status": "closed"}, "closed is for the database holder"),
                     ({"status": "done"}, "evidence: say what shows"),
                     ({"response": "not agreed", "comment": ""}, "comment: say why"),
                     ({"agreed_date": "30/06/2026"}, "expected a date like"),
                     ({"response": "maybe"}, "response: choose one of"),
                     ({"action_id": "nope"}, "not in the body&#39;s current action plan")):
        r = dora.post(f"/orgs/{OWN}/responses", data={**form, **bad})
        assert r.status_code == 400 and why in r.text, (bad, r.text[-400:])
    r = dora.post(f"/orgs/{OWN}/responses", data=form)
    assert r.status_code == 303
    after = dora.get(f"/orgs/{OWN}").text
    assert "New starter vetting from May." in after and "In progress" in after and "J. Patel, IT lead" in after
    with PeopleStore.open(world.path) as people:
        got = action_store.latest_responses(people, OWN)[action_id]
    assert (got.status.value, got.response.value, got.agreed_date.isoformat(), got.recorded_by, got.source) == (
        "in progress", "agreed", "2026-06-30", "dora", "web")
    rita = browsers["rita"]
    assert "New starter vetting from May." in rita.get(f"/orgs/{OWN}").text
    assert rita.post(f"/orgs/{OWN}/responses", data=form).status_code == 403


def test_downloads_serve_published_files_to_those_who_may_see_them(browsers, world) -> None:
    packs = world.path / "reports" / "packs"
    packs.mkdir(parents=True, exist_ok=True)
    (packs / f"{OWN}-dpo-pack.pdf").write_bytes(b"%PDF-1.7 own pack")
    (packs / f"{OTHER}-dpo-pack.pdf").write_bytes(b"%PDF-1.7 other pack")
    (world.path / "reports" / "national.pdf").write_bytes(b"%PDF-1.7 national")
    r = browsers["dora"].get(f"/orgs/{OWN}/pack")
    assert r.status_code == 200 and r.content == b"%PDF-1.7 own pack"
    assert "attachment" in r.headers["content-disposition"]
    assert browsers["dora"].get(f"/orgs/{OTHER}/pack").status_code == 403
    assert browsers["rita"].get(f"/orgs/{OTHER}/pack").content == b"%PDF-1.7 other pack"
    assert browsers["rita"].get("/reports/national.pdf").content == b"%PDF-1.7 national"
    assert browsers["rita"].get("/orgs/SC003/pack").status_code == 404
    with PeopleStore.open(world.path) as people:
        kinds = {(e.username, e.action, e.object_id, e.status) for e in web.access_entries(people)}
    assert {("dora", "download_pack", OWN, 200), ("dora", "download_pack", OTHER, 403),
            ("rita", "download_report", "national.pdf", 200)} <= kinds


def test_sessions_expire(world, app) -> None:
    c = signed_in(app, "ravi")
    token = c.cookies["ak_session"]
    s = settings(world.path)
    with PeopleStore.open(world.path) as people:
        now = web.utcnow()
        assert resume(people, token, s, now + timedelta(minutes=5)) is not None
        assert resume(people, token, s, now + timedelta(minutes=5) + s.session_idle + timedelta(seconds=1)) is None
        assert resume(people, token, s, now) is None  # an expired session is gone for good
    assert c.get("/api/orgs").status_code == 401


def test_a_body_page_without_rating_factors_says_so_instead_of_empty_tables(browsers) -> None:
    # The web world's stored assessment gives no likelihood or impact factors (seen on a screenshot: two
    # tables with headers and no rows).
    page = browsers["rita"].get(f"/orgs/{OWN}").text
    assert "The stored assessment gives no likelihood factors for this body." in page
    assert "The stored assessment gives no impact factors for this body." in page
    assert "<th>Factor</th>" not in page
