"""OpenID Connect sign-in against a fake identity provider on loopback: the code flow with PKCE, state
bound to the browser and single use, the ID token's claims checked, and only linked accounts let in."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from web_world import settings

from audit_kit.store import web
from audit_kit.store.people import PeopleStore
from audit_kit.web.app import create_app
from audit_kit.web.settings import OidcSettings

CLIENT_ID, SECRET = "audit-kit-test", "s3cret-for-tests"


def _jwt(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'kid': 'k1'})}.{part(claims)}.c2lnbmF0dXJl"


class FakeIdP:
    """Discovery, an authorize endpoint that 'signs the user in' at once, and a token endpoint."""

    def __init__(self) -> None:
        self.subject = "alice-123"
        self.claims_override: dict[str, Any] = {}
        self.pending: dict[str, dict[str, str]] = {}
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, obj: dict[str, Any], status: int = 200) -> None:
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json({"issuer": idp.issuer, "authorization_endpoint": idp.issuer + "/authorize",
                                "token_endpoint": idp.issuer + "/token"})
                elif url.path == "/authorize":
                    q = dict(urllib.parse.parse_qsl(url.query))
                    code = f"code-{len(idp.pending)}"
                    idp.pending[code] = q
                    self.send_response(302)
                    self.send_header("Location", q["redirect_uri"] + "?" + urllib.parse.urlencode(
                        {"code": code, "state": q["state"]}))
                    self.end_headers()
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:  # noqa: N802
                form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
                q = idp.pending.pop(form.get("code", ""), None)
                challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode())
                                                     .digest()).rstrip(b"=").decode()
                if q is None or form.get("client_secret") != SECRET or q["code_challenge"] != challenge:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                now = int(time.time())
                claims = {"iss": idp.issuer, "sub": idp.subject, "aud": CLIENT_ID, "exp": now + 300, "iat": now,
                          "nonce": q["nonce"], **idp.claims_override}
                self._json({"access_token": "at", "token_type": "Bearer", "id_token": _jwt(claims)})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture(scope="module")
def idp() -> Iterator[FakeIdP]:
    fake = FakeIdP()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()


@pytest.fixture(scope="module")
def oidc_app(world, idp):
    with PeopleStore.open(world.path) as people:
        web.add_user(people, "alice", "reviewer", None, None, "test", web.utcnow(),
                     oidc_subject=f"{idp.issuer}|alice-123")
    oidc = OidcSettings(idp.issuer, CLIENT_ID, SECRET, "http://127.0.0.1/login/oidc/callback", allow_http=True)
    return create_app(settings(world.path, oidc=oidc))


def _round_trip(client: TestClient) -> tuple[str, httpx.Response]:
    start = client.get("/login/oidc")
    assert start.status_code == 303 and start.headers["location"].startswith("http://127.0.0.1:")
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.headers["location"]).query))
    assert q["code_challenge_method"] == "S256" and q["client_id"] == CLIENT_ID and "nonce" in q
    back = httpx.get(start.headers["location"], follow_redirects=False)
    assert back.status_code == 302
    url = urllib.parse.urlsplit(back.headers["location"])
    return f"{url.path}?{url.query}", client.get(f"{url.path}?{url.query}")


def test_linked_identity_signs_in(oidc_app, idp) -> None:
    c = TestClient(oidc_app, base_url="http://127.0.0.1", follow_redirects=False)
    assert "Sign in with your organisation" in c.get("/login").text
    callback, r = _round_trip(c)
    assert r.status_code == 200 and "Welcome, alice" in r.text
    assert 'http-equiv="refresh"' in r.text  # continues on this site, so the Strict cookie is sent
    assert "HttpOnly" in r.headers["set-cookie"]
    assert c.get("/api/orgs").status_code == 200
    assert c.get(callback).status_code == 401  # a code and state are good once only


def test_what_is_refused(oidc_app, idp, world) -> None:
    c = TestClient(oidc_app, base_url="http://127.0.0.1", follow_redirects=False)
    idp.subject = "mallory-9"
    _, r = _round_trip(c)
    assert r.status_code == 403 and "no active audit-kit account is linked" in r.text
    idp.subject = "alice-123"
    for override, why in [({"aud": "someone-else"}, "not meant for this application"),
                          ({"nonce": "replayed"}, "nonce does not match"),
                          ({"exp": int(time.time()) - 3600}, "has expired"),
                          ({"iss": "https://evil.example"}, "another issuer")]:
        idp.claims_override = override
        _, r = _round_trip(TestClient(oidc_app, base_url="http://127.0.0.1", follow_redirects=False))
        assert r.status_code == 401 and why in r.text, (override, r.text)
    idp.claims_override = {}
    # A callback in a browser that did not start the sign-in (login CSRF) is refused.
    other = TestClient(oidc_app, base_url="http://127.0.0.1", follow_redirects=False)
    start = c.get("/login/oidc")
    back = httpx.get(start.headers["location"], follow_redirects=False)
    url = urllib.parse.urlsplit(back.headers["location"])
    r = other.get(f"{url.path}?{url.query}")
    assert r.status_code == 401 and "not started from this browser" in r.text
    with PeopleStore.open(world.path) as people:
        failed = [e for e in web.access_entries(people) if e.action == "login_oidc_failed"]
    assert len(failed) >= 6
