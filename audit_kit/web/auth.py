"""Who may sign in and what each role may see: argon2id passwords, lockout, sessions, permissions.

- Passwords are hashed with argon2id (argon2-cffi's defaults: 64 MiB, 3 passes), never stored or logged.
- After `max_failures` wrong passwords in a row an account locks for `lockout`; a sign-in to an unknown or
  disabled account costs the same hash as a real one and answers the same words.
- Sessions are random 256-bit tokens in an HttpOnly, SameSite=Strict cookie; the store keeps only their
  sha256. A session ends after `session_idle` without a request or `session_max` after sign-in.
- Every session carries a CSRF token; every form and every API write must send it back.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from audit_kit.errors import InputError
from audit_kit.store import web
from audit_kit.store.people import PeopleStore
from audit_kit.web.settings import WebSettings

_HASHER = PasswordHasher()
_DUMMY: list[str] = []
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024


def hash_password(password: str) -> str:
    check_password(password)
    return _HASHER.hash(password)


def check_password(password: str) -> None:
    """InputError unless the password is long enough (NCSC: length over complexity) and not absurdly long."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password: at least {MIN_PASSWORD} characters expected; got {len(password)}",
                         hint="use three random words or a password manager")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"password: at most {MAX_PASSWORD} characters")


def check_new_user(username: str, role: str, org_id: str | None, known_orgs: set[str] | None) -> None:
    """InputError naming what is wrong with a user about to be added."""
    if not USERNAME_RE.match(username):
        raise InputError(f"username {username!r}: 2-64 letters, digits, '.', '_', '@' or '-', starting with a "
                         "letter or digit")
    if role not in web.ROLES:
        raise InputError(f"role {role!r}: expected one of {', '.join(web.ROLES)}")
    if role == "dpo" and not org_id:
        raise InputError("a dpo needs --org: the body whose data they may see")
    if role != "dpo" and org_id:
        raise InputError(f"--org is for a dpo only (a {role} is not tied to one body)")
    if org_id and known_orgs is not None and org_id not in known_orgs:
        raise InputError(f"--org {org_id!r}: not an organisation of this workspace",
                         hint="check the id against organisations.csv (or `audit-kit serve`'s body list)")


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt (`user` only when it succeeded)."""

    user: web.WebUser | None
    reason: str  # ok | bad_password | unknown | disabled | locked | no_password


def authenticate(people: PeopleStore, username: str, password: str, settings: WebSettings, now: datetime) -> SignIn:
    """Check a username and password; count failures and lock as configured."""
    user = web.get_user(people, username) if USERNAME_RE.match(username or "") else None
    stored = web.password_hash(people, username) if user else None
    if user is None or stored is None:
        _verify(_dummy_hash(), password)  # the same cost whether or not the account exists
        return SignIn(None, "unknown" if user is None else "no_password")
    if user.disabled:
        _verify(_dummy_hash(), password)
        return SignIn(None, "disabled")
    if user.locked_until is not None and user.locked_until > now:
        _verify(_dummy_hash(), password)
        return SignIn(None, "locked")
    if not _verify(stored, password):
        web.record_failure(people, username, now, settings.max_failures, settings.lockout)
        return SignIn(None, "bad_password")
    if _HASHER.check_needs_rehash(stored):
        web.set_password_hash(people, username, _HASHER.hash(password))
    web.record_success(people, username, now)
    return SignIn(web.get_user(people, username), "ok")


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(_HASHER.hash("audit-kit: no such user"))
    return _DUMMY[0]


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password[:MAX_PASSWORD])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class NewSession:
    token: str  # the cookie value (only the sha256 is stored)
    csrf_token: str


def start_session(people: PeopleStore, user: web.WebUser, settings: WebSettings, now: datetime,
                  ip: str | None) -> NewSession:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    web.create_session(people, token, user.username, csrf, now, now + settings.session_max, ip)
    return NewSession(token, csrf)


@dataclass(frozen=True)
class Principal:
    """The signed-in person of a request."""

    user: web.WebUser
    token: str
    csrf_token: str

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def role(self) -> str:
        return self.user.role

    def can_see_org(self, org_id: str | None) -> bool:
        """A reviewer sees every body; a DPO only their own; an admin manages users and sees no body's data."""
        if self.role == "reviewer":
            return True
        if self.role == "dpo":
            return org_id is not None and org_id == self.user.org_id
        return False

    @property
    def sees_data(self) -> bool:
        return self.role in ("reviewer", "dpo")

    @property
    def reviews(self) -> bool:
        return self.role == "reviewer"

    @property
    def manages_users(self) -> bool:
        return self.role == "admin"

    def can_respond(self, org_id: str) -> bool:
        """Management responses and questionnaires are the body's own word: its DPO gives them."""
        return self.role == "dpo" and org_id == self.user.org_id

    def csrf_ok(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(str(sent), self.csrf_token)


def resume(people: PeopleStore, token: str | None, settings: WebSettings, now: datetime) -> Principal | None:
    """The principal of a session cookie, or None when it is unknown, expired, idle too long or disabled."""
    if not token or len(token) > 200:
        return None
    session = web.get_session(people, token)
    if session is None:
        return None
    if session.expires_at <= now or session.last_seen_at + settings.session_idle <= now:
        web.end_session(people, token)
        return None
    user = web.get_user(people, session.username)
    if user is None or user.disabled:
        web.end_session(people, token)
        return None
    if (now - session.last_seen_at).total_seconds() >= 60:  # one write a minute at most per session
        web.touch_session(people, token, now)
    return Principal(user, token, session.csrf_token)
