"""Sign-in through an organisation's OpenID Connect identity provider (authorization code flow + PKCE).

1. `GET /login/oidc` reads the issuer's discovery document, makes a one-time `state`, `nonce` and PKCE
   verifier (kept in the people store for ten minutes, never in the browser), binds the state to this
   browser with a short cookie, and redirects to the provider's authorization endpoint.
2. `GET /login/oidc/callback` checks the state against the cookie and the store (single use), redeems
   the code at the token endpoint over TLS (client secret when configured, PKCE always), and checks the
   ID token's claims: `iss` is the issuer, `aud` holds our client id (and `azp` is ours when several
   audiences), `exp` is in the future, `iat` is not in the future, `nonce` is ours.
3. The identity `ISSUER|sub` must already be linked to an audit-kit user (`users add --oidc-subject`):
   roles and bodies are granted by an admin, never taken from the provider's claims.

The ID token's signature is not checked: OpenID Connect Core 1.0 §3.1.3.7 (6) allows TLS server
validation in its place when the token comes straight from the token endpoint, as here. A deployment
that wants JWKS signature checks needs a JOSE library (none is pinned); docs/web.md says so.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from audit_kit.store import web

if TYPE_CHECKING:
    from audit_kit.store.people import PeopleStore
    from audit_kit.web.settings import OidcSettings

STATE_COOKIE = "ak_oidc"
STATE_TTL = timedelta(minutes=10)
CLOCK_SKEW = 120  # seconds of clock difference tolerated on exp and iat
MAX_RESPONSE = 256 * 1024


class OidcError(Exception):
    """Sign-in through the provider failed; the message is safe to show and to log."""


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str


_DISCOVERY: dict[str, tuple[float, Provider]] = {}


def _check_url(url: str, settings: OidcSettings) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" and not (settings.allow_http and parts.scheme == "http"):
        raise OidcError(f"the identity provider's endpoint {url!r} is not https")
    return url


def _fetch_json(request: urllib.request.Request, settings: OidcSettings) -> dict[str, Any]:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=settings.timeout) as resp:
            body = resp.read(MAX_RESPONSE + 1)
    except urllib.error.HTTPError as exc:
        raise OidcError(f"the identity provider answered {exc.code} at {request.full_url}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise OidcError(f"cannot reach the identity provider ({exc})") from None
    if len(body) > MAX_RESPONSE:
        raise OidcError("the identity provider's answer is too large")
    try:
        data = json.loads(body)
    except ValueError:
        raise OidcError("the identity provider's answer is not JSON") from None
    if not isinstance(data, dict):
        raise OidcError("the identity provider's answer is not a JSON object")
    return data


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def discover(settings: OidcSettings) -> Provider:
    """The provider's endpoints from its discovery document (cached for an hour)."""
    cached = _DISCOVERY.get(settings.issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    url = _check_url(settings.issuer.rstrip("/") + "/.well-known/openid-configuration", settings)
    doc = _fetch_json(urllib.request.Request(url, headers={"Accept": "application/json"}), settings)
    if str(doc.get("issuer", "")).rstrip("/") != settings.issuer.rstrip("/"):
        raise OidcError(f"the discovery document names issuer {doc.get('issuer')!r}, not {settings.issuer!r}")
    try:
        provider = Provider(settings.issuer, _check_url(str(doc["authorization_endpoint"]), settings),
                            _check_url(str(doc["token_endpoint"]), settings))
    except KeyError as exc:
        raise OidcError(f"the discovery document has no {exc.args[0]}") from None
    _DISCOVERY[settings.issuer] = (time.monotonic() + 3600, provider)
    return provider


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class Begun:
    redirect_url: str  # the provider's authorization endpoint with our request
    state: str  # to bind to this browser (cookie STATE_COOKIE)


def begin(people: PeopleStore, settings: OidcSettings, now: datetime) -> Begun:
    """Start a sign-in: one-time state, nonce and PKCE verifier kept in the people store."""
    provider = discover(settings)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    web.add_oidc_state(people, state, nonce, verifier, now, now + STATE_TTL)
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": settings.client_id, "redirect_uri": settings.redirect_url,
        "scope": "openid", "state": state, "nonce": nonce,
        "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()), "code_challenge_method": "S256"})
    sep = "&" if "?" in provider.authorization_endpoint else "?"
    return Begun(provider.authorization_endpoint + sep + query, state)


def _claims(id_token: str) -> dict[str, Any]:
    parts = id_token.split(".")
    if len(parts) != 3:
        raise OidcError("the ID token is not a JWT")
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        raise OidcError("the ID token cannot be read") from None
    if not isinstance(payload, dict):
        raise OidcError("the ID token's claims are not an object")
    return payload


def check_claims(claims: dict[str, Any], settings: OidcSettings, nonce: str, now: float) -> str:
    """The `ISSUER|sub` identity of valid claims; OidcError naming the first claim that is wrong."""
    if str(claims.get("iss", "")).rstrip("/") != settings.issuer.rstrip("/"):
        raise OidcError("the ID token comes from another issuer")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if settings.client_id not in audiences:
        raise OidcError("the ID token is not meant for this application (aud)")
    if len(audiences) > 1 and claims.get("azp") != settings.client_id:
        raise OidcError("the ID token names another authorised party (azp)")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or exp + CLOCK_SKEW < now:
        raise OidcError("the ID token has expired")
    if isinstance(iat, int | float) and iat - CLOCK_SKEW > now:
        raise OidcError("the ID token was issued in the future")
    if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(claims["nonce"], nonce):
        raise OidcError("the ID token's nonce does not match this sign-in")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise OidcError("the ID token has no subject")
    return f"{settings.issuer.rstrip('/')}|{sub}"


def finish(people: PeopleStore, settings: OidcSettings, *, state: str, cookie: str, code: str, error: str,
           now: datetime) -> web.WebUser:
    """Complete a sign-in from the provider's redirect; the linked, active user, or OidcError saying why."""
    if error:
        raise OidcError(f"the identity provider refused: {error[:100]}")
    if not state or not cookie or not secrets.compare_digest(state, cookie):
        raise OidcError("this sign-in was not started from this browser (state)")
    saved = web.take_oidc_state(people, state, now)
    if saved is None:
        raise OidcError("this sign-in has expired or was already used; start again")
    nonce, verifier = saved
    provider = discover(settings)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": settings.redirect_url,
            "client_id": settings.client_id, "code_verifier": verifier}
    if settings.client_secret:
        form["client_secret"] = settings.client_secret
    request = urllib.request.Request(provider.token_endpoint, data=urllib.parse.urlencode(form).encode(),
                                     headers={"Accept": "application/json",
                                              "Content-Type": "application/x-www-form-urlencoded"})
    tokens = _fetch_json(request, settings)
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise OidcError("the token endpoint returned no ID token")
    subject = check_claims(_claims(id_token), settings, nonce, time.time())
    user = web.user_by_subject(people, subject)
    if user is None or user.disabled:
        raise UnlinkedIdentity(subject)
    web.record_success(people, user.username, now)
    return user


class UnlinkedIdentity(OidcError):
    """A valid identity that no active audit-kit user is linked to."""

    def __init__(self, subject: str) -> None:
        super().__init__("no active audit-kit account is linked to this identity; ask an admin to link it "
                         "(audit-kit users add … --oidc-subject)")
        self.subject = subject
