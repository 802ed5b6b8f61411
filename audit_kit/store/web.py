"""The web app's people-side tables: users, sessions, the tool's own access log, received
questionnaires, and the read models the web app serves.

Everything here lives in `WS/people.sqlite` (`store/people.py`), never in DuckDB: a sign-in, a page
read or a DPO's response is a write of milliseconds that must not wait for a scan. The analytical data
the pages show (assessment, scores, findings, organisations) is *published* into the `rm_*` tables by
a job that holds a DuckDB connection (`audit_kit.app.readmodels`); the web app reads only those.

The access log is append-only (triggers refuse UPDATE and DELETE) and hash-chained: each row's
`hash` is sha256 over the previous row's hash and this row's fields, so an edit, a deletion or an
insertion in the middle breaks the chain at a row `verify_access_log` names.

(Why this module runs past 400 lines: the repository of every web table in the people store (users, sessions,
the hash-chained access log, responses, read models): all their SQL in one place, as the store layer
requires.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit_kit.store.people import PeopleStore

ROLES = ("reviewer", "dpo", "admin")
GENESIS = "0" * 64

# One step of store/people.py's PEOPLE_MIGRATIONS (appended there; never edit once released).
MIGRATION: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS web_users (
        username TEXT PRIMARY KEY, role TEXT NOT NULL CHECK (role IN ('reviewer', 'dpo', 'admin')),
        org_id TEXT, password_hash TEXT, disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
        created_by TEXT, failed_logins INTEGER NOT NULL DEFAULT 0, locked_until TEXT, last_login_at TEXT,
        oidc_subject TEXT UNIQUE)""",
    """CREATE TABLE IF NOT EXISTS web_sessions (
        token_hash TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES web_users(username),
        csrf_token TEXT NOT NULL, created_at TEXT NOT NULL, last_seen_at TEXT NOT NULL,
        expires_at TEXT NOT NULL, ip TEXT)""",
    "CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions (username)",
    """CREATE TABLE IF NOT EXISTS web_access_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, username TEXT, role TEXT, ip TEXT,
        method TEXT NOT NULL, path TEXT NOT NULL, action TEXT NOT NULL, object_kind TEXT,
        object_id TEXT, org_id TEXT, status INTEGER NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS web_access_log_at ON web_access_log (at)",
    """CREATE TRIGGER IF NOT EXISTS web_access_log_no_update BEFORE UPDATE ON web_access_log
       BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS web_access_log_no_delete BEFORE DELETE ON web_access_log
       BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END""",
    """CREATE TABLE IF NOT EXISTS web_responses (
        response_id INTEGER PRIMARY KEY AUTOINCREMENT, org_id TEXT NOT NULL, risk_id TEXT NOT NULL,
        status TEXT NOT NULL, response TEXT NOT NULL, target_date TEXT, username TEXT NOT NULL,
        at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS web_submissions (
        submission_id INTEGER PRIMARY KEY AUTOINCREMENT, org_id TEXT NOT NULL, checklist_id TEXT,
        filename TEXT NOT NULL, format TEXT NOT NULL, sha256 TEXT NOT NULL, content BLOB NOT NULL,
        answers INTEGER NOT NULL, username TEXT NOT NULL, received_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'received', imported_at TEXT)""",
    # Review verdicts recorded through the web app until audit_kit.review (issue 19) owns them: one row
    # per action, the latest row of a finding is its state (audit_kit/web/review.py is the adapter).
    """CREATE TABLE IF NOT EXISTS web_reviews (
        review_id INTEGER PRIMARY KEY AUTOINCREMENT, finding_id TEXT NOT NULL, state TEXT NOT NULL,
        assignee TEXT, note TEXT NOT NULL DEFAULT '', username TEXT NOT NULL, at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS web_reviews_finding ON web_reviews (finding_id, review_id)",
    # OpenID Connect sign-ins in progress: single use, ten minutes.
    """CREATE TABLE IF NOT EXISTS web_oidc_states (
        state TEXT PRIMARY KEY, nonce TEXT NOT NULL, verifier TEXT NOT NULL, created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL)""",
    # Read models: replaced whole by each publication (audit_kit.app.readmodels).
    """CREATE TABLE IF NOT EXISTS rm_publication (
        id INTEGER PRIMARY KEY CHECK (id = 1), published_at TEXT NOT NULL, fingerprint TEXT NOT NULL,
        assessment_id TEXT, as_of TEXT, assessed_at TEXT, period_start TEXT, period_end TEXT,
        organisations INTEGER NOT NULL, findings INTEGER NOT NULL, totals TEXT NOT NULL, notes TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS rm_orgs (
        org_id TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, area TEXT NOT NULL,
        risk_level TEXT, risk_rank INTEGER, likelihood INTEGER, impact INTEGER, tier INTEGER,
        previous_risk_level TEXT, score REAL, findings INTEGER NOT NULL, assessment TEXT, scores TEXT)""",
    """CREATE TABLE IF NOT EXISTS rm_findings (
        finding_id TEXT PRIMARY KEY, org_id TEXT, detector TEXT NOT NULL, severity TEXT NOT NULL,
        severity_rank INTEGER NOT NULL, score REAL NOT NULL, user_id TEXT, record_count INTEGER NOT NULL,
        first_seen TEXT, last_seen TEXT, summary TEXT NOT NULL, evidence TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS rm_findings_org ON rm_findings (org_id, severity_rank)",
    """CREATE TABLE IF NOT EXISTS rm_trend (
        assessment_id TEXT NOT NULL, assessed_at TEXT NOT NULL, as_of TEXT, risk_level TEXT NOT NULL,
        organisations INTEGER NOT NULL, PRIMARY KEY (assessment_id, risk_level))""",
)


# Step 4 -> 5 of PEOPLE_MIGRATIONS: the web app's first verdict and response tables are retired.
# Verdicts given in the browser now go through the reviewer's workflow (review_findings, review_events,
# review_rules) and DPOs' responses into action_responses, so a browser verdict leaves the same
# suppression or explanation as a CLI one. What the old tables hold is carried over, oldest first,
# and they are kept read-only (nothing is deleted):
# - each web_reviews row becomes a review_events row (detail.carried_from = web_reviews), and a finding's
#   latest browser state and assignee become its review state unless the review changed it later;
#   a finding the review tables did not hold yet is added from the web read model. Carried verdicts
#   leave no rule (the old table had no expiry to give one): a reviewer who wants one judges again.
# - each web_responses row becomes an action_responses row for every action of the body's published
#   plan that treats the same register entry (status accepted -> agreed / not started, in_progress ->
#   in progress, done -> done, disputed -> not agreed); a row whose risk is in no action stays only in
#   web_responses.
CARRY_TO_REVIEW: tuple[str, ...] = (
    """INSERT OR IGNORE INTO review_findings (finding_id, detector, severity, severity_rank, score, org_id, user_id,
           record, record_count, first_seen, last_seen, summary, evidence, first_detected, last_detected,
           updated_at, present)
       SELECT f.finding_id, f.detector, f.severity, f.severity_rank, f.score, f.org_id, f.user_id,
           CASE WHEN json_valid(f.evidence) AND json_extract(f.evidence, '$.record') GLOB 'R-[0-9a-f]*'
                THEN json_extract(f.evidence, '$.record') END,
           f.record_count, rtrim(f.first_seen, 'Z'), rtrim(f.last_seen, 'Z'), f.summary, f.evidence,
           w.first_at, w.first_at, w.first_at, 1
       FROM rm_findings f
       JOIN (SELECT finding_id, rtrim(min(at), 'Z') AS first_at FROM web_reviews GROUP BY finding_id) w
         ON w.finding_id = f.finding_id""",
    """INSERT INTO review_events (finding_id, at, actor, kind, from_state, to_state, note, detail)
       SELECT finding_id, rtrim(at, 'Z'), username,
           CASE WHEN state <> prev_state AND state IN ('confirmed', 'explained', 'false_positive') THEN 'verdict'
                WHEN state <> prev_state THEN 'state'
                WHEN coalesce(assignee, '') <> coalesce(prev_assignee, '') THEN 'assigned'
                ELSE 'note' END,
           CASE WHEN state <> prev_state THEN prev_state END,
           CASE WHEN state <> prev_state THEN state END,
           nullif(note, ''),
           json_object('carried_from', 'web_reviews', 'review_id', review_id, 'assignee', assignee)
       FROM (SELECT *, lag(state, 1, 'open') OVER w AS prev_state, lag(assignee) OVER w AS prev_assignee
             FROM web_reviews WINDOW w AS (PARTITION BY finding_id ORDER BY review_id))
       ORDER BY review_id""",
    """UPDATE review_findings SET state = w.state, assignee = w.assignee, updated_at = rtrim(w.at, 'Z'),
           updated_by = w.username
       FROM (SELECT finding_id, state, assignee, at, username FROM web_reviews
             WHERE review_id IN (SELECT max(review_id) FROM web_reviews GROUP BY finding_id)) w
       WHERE review_findings.finding_id = w.finding_id AND rtrim(w.at, 'Z') >= review_findings.updated_at""",
    """INSERT INTO action_responses (action_id, org_id, response, owner_name, status, agreed_date, evidence, comment,
           recorded_at, recorded_by, source)
       SELECT json_extract(a.value, '$.action_id'), r.org_id,
           CASE r.status WHEN 'disputed' THEN 'not agreed' ELSE 'agreed' END, '',
           CASE r.status WHEN 'in_progress' THEN 'in progress' WHEN 'done' THEN 'done' ELSE 'not started' END,
           r.target_date, '', r.response, rtrim(r.at, 'Z'), r.username, 'web'
       FROM web_responses r
       JOIN rm_orgs o ON o.org_id = r.org_id AND json_valid(o.assessment)
       JOIN json_each(o.assessment, '$.actions') a
       WHERE json_extract(a.value, '$.risk_id') = r.risk_id
       ORDER BY r.response_id, a.key""",
    """CREATE TRIGGER IF NOT EXISTS web_reviews_retired BEFORE INSERT ON web_reviews
       BEGIN SELECT RAISE(ABORT, 'web_reviews is retired: verdicts go through audit_kit.review'); END""",
    """CREATE TRIGGER IF NOT EXISTS web_responses_retired BEFORE INSERT ON web_responses
       BEGIN SELECT RAISE(ABORT, 'web_responses is retired: responses go to action_responses'); END""",
)

def restrict_permissions(people: PeopleStore) -> None:
    """Make the people store readable by its owner only: it holds password hashes and the access log."""
    for suffix in ("", "-wal", "-shm"):
        path = people.path.with_name(people.path.name + suffix)
        with contextlib.suppress(OSError):
            if path.exists():
                os.chmod(path, 0o600)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- users -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebUser:
    """A person who may sign in to the web app (never one of the audited bodies' users)."""

    username: str
    role: str  # reviewer | dpo | admin
    org_id: str | None  # a DPO's own body
    disabled: bool
    created_at: datetime
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    oidc_subject: str | None = None


_USER_COLUMNS = ("username, role, org_id, disabled, created_at, failed_logins, locked_until, last_login_at, "
                 "oidc_subject")


def _user(r: Sequence[Any]) -> WebUser:
    return WebUser(r[0], r[1], r[2], bool(r[3]), _parse(r[4]) or utcnow(), int(r[5]), _parse(r[6]),
                   _parse(r[7]), r[8])


def add_user(people: PeopleStore, username: str, role: str, org_id: str | None, password_hash: str | None,
             created_by: str | None, now: datetime, oidc_subject: str | None = None) -> WebUser:
    """Insert a user (the caller checked the name, role and org). Raises sqlite3.IntegrityError if taken."""
    with people.transaction() as con:
        con.execute(
            "INSERT INTO web_users (username, role, org_id, password_hash, created_at, created_by, oidc_subject) "
            "VALUES (?,?,?,?,?,?,?)",
            [username, role, org_id, password_hash, _iso(now), created_by, oidc_subject])
    user = get_user(people, username)
    assert user is not None
    return user


def get_user(people: PeopleStore, username: str) -> WebUser | None:
    row = people.con.execute(f"SELECT {_USER_COLUMNS} FROM web_users WHERE username = ?", [username]).fetchone()
    return None if row is None else _user(row)


def user_by_subject(people: PeopleStore, subject: str) -> WebUser | None:
    """The user linked to an OpenID Connect subject (`iss|sub`), if any."""
    row = people.con.execute(f"SELECT {_USER_COLUMNS} FROM web_users WHERE oidc_subject = ?", [subject]).fetchone()
    return None if row is None else _user(row)


def password_hash(people: PeopleStore, username: str) -> str | None:
    row = people.con.execute("SELECT password_hash FROM web_users WHERE username = ?", [username]).fetchone()
    return None if row is None else row[0]


def list_users(people: PeopleStore) -> list[WebUser]:
    rows = people.con.execute(f"SELECT {_USER_COLUMNS} FROM web_users ORDER BY username").fetchall()
    return [_user(r) for r in rows]


def set_disabled(people: PeopleStore, username: str, disabled: bool) -> bool:
    """Disable (or enable) a user and end their sessions; False when there is no such user."""
    with people.transaction() as con:
        cur = con.execute("UPDATE web_users SET disabled = ? WHERE username = ?", [int(disabled), username])
        if disabled:
            con.execute("DELETE FROM web_sessions WHERE username = ?", [username])
    return cur.rowcount > 0


def set_password_hash(people: PeopleStore, username: str, hashed: str) -> None:
    with people.transaction() as con:
        con.execute("UPDATE web_users SET password_hash = ?, failed_logins = 0, locked_until = NULL "
                    "WHERE username = ?", [hashed, username])


def record_failure(people: PeopleStore, username: str, now: datetime, max_failures: int,
                   lockout: timedelta) -> int:
    """Count a failed sign-in; lock the account for `lockout` once `max_failures` are reached in a row.
    Returns the count."""
    with people.transaction() as con:
        row = con.execute("SELECT failed_logins FROM web_users WHERE username = ?", [username]).fetchone()
        if row is None:
            return 0
        failures = int(row[0]) + 1
        locked = _iso(now + lockout) if failures >= max_failures else None
        con.execute("UPDATE web_users SET failed_logins = ?, locked_until = coalesce(?, locked_until) "
                    "WHERE username = ?", [failures if locked is None else 0, locked, username])
    return failures


def record_success(people: PeopleStore, username: str, now: datetime) -> None:
    with people.transaction() as con:
        con.execute("UPDATE web_users SET failed_logins = 0, locked_until = NULL, last_login_at = ? "
                    "WHERE username = ?", [_iso(now), username])


# -- sessions --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebSession:
    token_hash: str
    username: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def token_hash(token: str) -> str:
    """Sessions are stored by the sha256 of their cookie: a copy of the file does not sign anyone in."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(people: PeopleStore, token: str, username: str, csrf_token: str, now: datetime,
                   expires_at: datetime, ip: str | None) -> None:
    with people.transaction() as con:
        con.execute("DELETE FROM web_sessions WHERE expires_at < ?", [_iso(now)])
        con.execute("INSERT INTO web_sessions VALUES (?,?,?,?,?,?,?)",
                    [token_hash(token), username, csrf_token, _iso(now), _iso(now), _iso(expires_at), ip])


def get_session(people: PeopleStore, token: str) -> WebSession | None:
    row = people.con.execute(
        "SELECT token_hash, username, csrf_token, created_at, last_seen_at, expires_at FROM web_sessions "
        "WHERE token_hash = ?", [token_hash(token)]).fetchone()
    if row is None:
        return None
    return WebSession(row[0], row[1], row[2], _parse(row[3]) or utcnow(), _parse(row[4]) or utcnow(),
                      _parse(row[5]) or utcnow())


def touch_session(people: PeopleStore, token: str, now: datetime) -> None:
    with people.transaction() as con:
        con.execute("UPDATE web_sessions SET last_seen_at = ? WHERE token_hash = ?", [_iso(now), token_hash(token)])


def end_session(people: PeopleStore, token: str) -> None:
    with people.transaction() as con:
        con.execute("DELETE FROM web_sessions WHERE token_hash = ?", [token_hash(token)])


# -- OpenID Connect sign-ins in progress ----------------------------------------------------------------
def add_oidc_state(people: PeopleStore, state: str, nonce: str, verifier: str, now: datetime,
                   expires_at: datetime) -> None:
    with people.transaction() as con:
        con.execute("DELETE FROM web_oidc_states WHERE expires_at < ?", [_iso(now)])
        con.execute("INSERT INTO web_oidc_states VALUES (?,?,?,?,?)",
                    [state, nonce, verifier, _iso(now), _iso(expires_at)])


def take_oidc_state(people: PeopleStore, state: str, now: datetime) -> tuple[str, str] | None:
    """(nonce, PKCE verifier) of a sign-in in progress, removed as it is read (single use); None when
    unknown or expired."""
    with people.transaction() as con:
        row = con.execute("DELETE FROM web_oidc_states WHERE state = ? RETURNING nonce, verifier, expires_at",
                          [state]).fetchone()
    if row is None or (_parse(row[2]) or now) < now:
        return None
    return str(row[0]), str(row[1])


# -- the access log --------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccessEntry:
    """One recorded read or action in the web app: who, when, from where, what, and the answer given."""

    seq: int
    at: datetime
    username: str | None
    role: str | None
    ip: str | None
    method: str
    path: str
    action: str  # e.g. view_org, view_finding, list_findings, download_pack, login_failed
    object_kind: str | None  # org | finding | report | pack | questionnaire | user | None
    object_id: str | None
    org_id: str | None
    status: int  # the HTTP status answered (403 reads are recorded too)
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": _iso(self.at), "username": self.username, "role": self.role,
                "ip": self.ip, "method": self.method, "path": self.path, "action": self.action,
                "object_kind": self.object_kind, "object_id": self.object_id, "org_id": self.org_id,
                "status": self.status, "prev_hash": self.prev_hash, "hash": self.hash}


_FIELDS = ("at", "username", "role", "ip", "method", "path", "action", "object_kind", "object_id", "org_id",
           "status")


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """sha256 over the previous row's hash and this row's fields (canonical JSON)."""
    body = json.dumps([fields[k] for k in _FIELDS], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def append_access(people: PeopleStore, *, at: datetime, username: str | None, role: str | None, ip: str | None,
                  method: str, path: str, action: str, object_kind: str | None = None,
                  object_id: str | None = None, org_id: str | None = None, status: int = 200) -> AccessEntry:
    """Append one entry to the chain (one short BEGIN IMMEDIATE transaction, so appends never interleave)."""
    fields: dict[str, Any] = {"at": _iso(at), "username": username, "role": role, "ip": ip, "method": method,
                              "path": path[:500], "action": action, "object_kind": object_kind,
                              "object_id": object_id, "org_id": org_id, "status": int(status)}
    with people.transaction() as con:
        row = con.execute("SELECT hash FROM web_access_log ORDER BY seq DESC LIMIT 1").fetchone()
        prev = row[0] if row else GENESIS
        digest = chain_hash(prev, fields)
        cur = con.execute(
            "INSERT INTO web_access_log (at, username, role, ip, method, path, action, object_kind, object_id, "
            "org_id, status, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [*(fields[k] for k in _FIELDS), prev, digest])
        seq = int(cur.lastrowid or 0)
    return AccessEntry(seq, at, username, role, ip, method, fields["path"], action, object_kind, object_id,
                       org_id, int(status), prev, digest)


def _entry(r: Sequence[Any]) -> AccessEntry:
    return AccessEntry(int(r[0]), _parse(r[1]) or utcnow(), r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                       int(r[11]), r[12], r[13])


_ENTRY_COLUMNS = ("seq, at, username, role, ip, method, path, action, object_kind, object_id, org_id, status, "
                  "prev_hash, hash")


def access_entries(people: PeopleStore, since: datetime | None = None, until: datetime | None = None,
                   username: str | None = None, limit: int | None = None, newest_first: bool = False
                   ) -> list[AccessEntry]:
    where: list[str] = ["1=1"]
    params: list[Any] = []
    if since is not None:
        where.append("at >= ?")
        params.append(_iso(since))
    if until is not None:
        where.append("at < ?")
        params.append(_iso(until))
    if username:
        where.append("username = ?")
        params.append(username)
    order = "DESC" if newest_first else "ASC"
    tail = f" LIMIT {int(limit)}" if limit is not None else ""
    rows = people.con.execute(
        f"SELECT {_ENTRY_COLUMNS} FROM web_access_log WHERE {' AND '.join(where)} ORDER BY seq {order}{tail}",
        params).fetchall()
    return [_entry(r) for r in rows]


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of walking the access log's chain."""

    entries: int
    ok: bool
    broken_at: int | None = None  # the first seq whose hash or link does not hold
    reason: str | None = None
    head: str = GENESIS


def verify_access_log(people: PeopleStore) -> ChainCheck:
    """Recompute every hash from the first entry; name the first row where the chain breaks."""
    prev, expected_seq, n = GENESIS, None, 0
    cur = people.con.execute(f"SELECT {_ENTRY_COLUMNS} FROM web_access_log ORDER BY seq")
    for r in cur:
        e = _entry(r)
        n += 1
        if expected_seq is not None and e.seq != expected_seq:
            return ChainCheck(n, False, e.seq, f"entries {expected_seq}..{e.seq - 1} are missing", prev)
        if e.prev_hash != prev:
            return ChainCheck(n, False, e.seq, "its link to the previous entry does not match", prev)
        fields = dict(zip(_FIELDS, r[1:12], strict=True))
        if chain_hash(prev, fields) != e.hash:
            return ChainCheck(n, False, e.seq, "its content does not match its hash (edited)", prev)
        prev, expected_seq = e.hash, e.seq + 1
    return ChainCheck(n, True, None, None, prev)


# -- received questionnaires ------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceivedQuestionnaire:
    submission_id: int
    org_id: str
    checklist_id: str | None
    filename: str
    format: str
    sha256: str
    answers: int
    username: str
    received_at: datetime
    state: str  # received | imported


def add_submission(people: PeopleStore, org_id: str, checklist_id: str | None, filename: str, fmt: str,
                   content: bytes, answers: int, username: str, now: datetime) -> ReceivedQuestionnaire:
    digest = hashlib.sha256(content).hexdigest()
    with people.transaction() as con:
        cur = con.execute(
            "INSERT INTO web_submissions (org_id, checklist_id, filename, format, sha256, content, answers, "
            "username, received_at) VALUES (?,?,?,?,?,?,?,?,?)",
            [org_id, checklist_id, filename, fmt, digest, content, answers, username, _iso(now)])
        sid = int(cur.lastrowid or 0)
    return ReceivedQuestionnaire(sid, org_id, checklist_id, filename, fmt, digest, answers, username, now,
                                 "received")


def submissions(people: PeopleStore, org_id: str | None = None, state: str | None = None
                ) -> list[ReceivedQuestionnaire]:
    where: list[str] = ["1=1"]
    params: list[Any] = []
    if org_id:
        where.append("org_id = ?")
        params.append(org_id)
    if state:
        where.append("state = ?")
        params.append(state)
    rows = people.con.execute(
        "SELECT submission_id, org_id, checklist_id, filename, format, sha256, answers, username, received_at, "
        f"state FROM web_submissions WHERE {' AND '.join(where)} ORDER BY submission_id DESC", params).fetchall()
    return [ReceivedQuestionnaire(int(r[0]), r[1], r[2], r[3], r[4], r[5], int(r[6]), r[7],
                                  _parse(r[8]) or utcnow(), r[9]) for r in rows]


def submission_content(people: PeopleStore, submission_id: int) -> bytes | None:
    row = people.con.execute("SELECT content FROM web_submissions WHERE submission_id = ?",
                             [submission_id]).fetchone()
    return None if row is None else bytes(row[0])


def mark_imported(people: PeopleStore, submission_id: int, now: datetime) -> None:
    with people.transaction() as con:
        con.execute("UPDATE web_submissions SET state = 'imported', imported_at = ? WHERE submission_id = ?",
                    [_iso(now), submission_id])


# -- read models -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Publication:
    """What the read models hold and when they were published."""

    published_at: datetime
    fingerprint: str
    assessment_id: str | None
    as_of: str | None
    assessed_at: str | None
    period_start: str | None
    period_end: str | None
    organisations: int
    findings: int
    totals: dict[str, Any]
    notes: list[str]


@dataclass(frozen=True)
class OrgReadModel:
    org_id: str
    name: str
    type: str
    area: str
    risk_level: str | None
    risk_rank: int | None
    likelihood: int | None
    impact: int | None
    tier: int | None
    previous_risk_level: str | None
    score: float | None
    findings: int
    assessment: str | None  # OrgAssessment JSON
    scores: str | None  # domain scores and control outcomes JSON


@dataclass(frozen=True)
class FindingReadModel:
    finding_id: str
    org_id: str | None
    detector: str
    severity: str
    severity_rank: int
    score: float
    user_id: str | None
    record_count: int
    first_seen: str | None
    last_seen: str | None
    summary: str
    evidence: str  # JSON


@dataclass(frozen=True)
class TrendPoint:
    assessment_id: str
    assessed_at: str
    as_of: str | None
    risk_level: str
    organisations: int


def publish(people: PeopleStore, publication: Publication, orgs: Iterable[OrgReadModel],
            findings: Iterable[FindingReadModel], trend: Iterable[TrendPoint], scores_basis: str = "") -> None:
    """Replace every read model in one transaction: readers see the old set or the new, never a mix.
    `scores_basis` says what the bodies' ratings and scores were derived from (`scores_basis()`)."""
    p = publication
    with people.transaction() as con:
        con.execute("INSERT OR REPLACE INTO people_meta VALUES ('rm_scores_basis', ?)", [scores_basis])
        for table in ("rm_publication", "rm_orgs", "rm_findings", "rm_trend"):
            con.execute(f"DELETE FROM {table}")
        con.execute("INSERT INTO rm_publication VALUES (1,?,?,?,?,?,?,?,?,?,?,?)",
                    [_iso(p.published_at), p.fingerprint, p.assessment_id, p.as_of, p.assessed_at, p.period_start,
                     p.period_end, p.organisations, p.findings, json.dumps(p.totals), json.dumps(p.notes)])
        con.executemany("INSERT INTO rm_orgs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        [(o.org_id, o.name, o.type, o.area, o.risk_level, o.risk_rank, o.likelihood, o.impact,
                          o.tier, o.previous_risk_level, o.score, o.findings, o.assessment, o.scores) for o in orgs])
        con.executemany("INSERT INTO rm_findings VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        [(f.finding_id, f.org_id, f.detector, f.severity, f.severity_rank, f.score, f.user_id,
                          f.record_count, f.first_seen, f.last_seen, f.summary, f.evidence) for f in findings])
        con.executemany("INSERT INTO rm_trend VALUES (?,?,?,?,?)",
                        [(t.assessment_id, t.assessed_at, t.as_of, t.risk_level, t.organisations) for t in trend])


def scores_basis(people: PeopleStore) -> str | None:
    """What the published ratings and scores were derived from (None before the first publication)."""
    row = people.con.execute("SELECT value FROM people_meta WHERE key = 'rm_scores_basis'").fetchone()
    return None if row is None else str(row[0])


def publication(people: PeopleStore) -> Publication | None:
    row = people.con.execute(
        "SELECT published_at, fingerprint, assessment_id, as_of, assessed_at, period_start, period_end, "
        "organisations, findings, totals, notes FROM rm_publication WHERE id = 1").fetchone()
    if row is None:
        return None
    return Publication(_parse(row[0]) or utcnow(), row[1], row[2], row[3], row[4], row[5], row[6], int(row[7]),
                       int(row[8]), json.loads(row[9]), json.loads(row[10]))


_ORG_COLUMNS = ("org_id, name, type, area, risk_level, risk_rank, likelihood, impact, tier, previous_risk_level, "
                "score, findings")


def _org(r: Sequence[Any], full: bool) -> OrgReadModel:
    return OrgReadModel(
        org_id=r[0], name=r[1], type=r[2], area=r[3], risk_level=r[4], risk_rank=r[5], likelihood=r[6],
        impact=r[7], tier=r[8], previous_risk_level=r[9], score=r[10], findings=int(r[11]),
        assessment=r[12] if full else None, scores=r[13] if full else None)


def list_orgs(people: PeopleStore, org_ids: Sequence[str] | None = None) -> list[OrgReadModel]:
    """Every published body (or only `org_ids`), riskiest first."""
    sql = f"SELECT {_ORG_COLUMNS} FROM rm_orgs"
    params: list[Any] = []
    if org_ids is not None:
        sql += f" WHERE org_id IN ({','.join('?' * len(org_ids))})" if org_ids else " WHERE 0"
        params = list(org_ids)
    rows = people.con.execute(sql + " ORDER BY coalesce(risk_rank, 0) DESC, likelihood * impact DESC, org_id",
                              params).fetchall()
    return [_org(r, False) for r in rows]


def list_orgs_full(people: PeopleStore) -> list[OrgReadModel]:
    """Every published body with its assessment and scores JSON (for a publication that keeps them)."""
    rows = people.con.execute(f"SELECT {_ORG_COLUMNS}, assessment, scores FROM rm_orgs ORDER BY org_id").fetchall()
    return [_org(r, True) for r in rows]


def get_org(people: PeopleStore, org_id: str) -> OrgReadModel | None:
    row = people.con.execute(f"SELECT {_ORG_COLUMNS}, assessment, scores FROM rm_orgs WHERE org_id = ?",
                             [org_id]).fetchone()
    return None if row is None else _org(row, True)


def _finding_rm(r: Sequence[Any]) -> FindingReadModel:
    return FindingReadModel(
        finding_id=r[0], org_id=r[1], detector=r[2], severity=r[3], severity_rank=int(r[4]), score=float(r[5]),
        user_id=r[6], record_count=int(r[7]), first_seen=r[8], last_seen=r[9], summary=r[10], evidence=r[11])


_FINDING_COLUMNS = ("finding_id, org_id, detector, severity, severity_rank, score, user_id, record_count, "
                    "first_seen, last_seen, summary, evidence")


def list_findings(people: PeopleStore, org_id: str | None = None, detector: str | None = None,
                  min_rank: int = 0, finding_ids: Sequence[str] | None = None, limit: int | None = None
                  ) -> list[FindingReadModel]:
    """Published findings, most severe first."""
    where: list[str] = ["severity_rank >= ?"]
    params: list[Any] = [min_rank]
    if org_id:
        where.append("org_id = ?")
        params.append(org_id)
    if detector:
        where.append("detector = ?")
        params.append(detector)
    if finding_ids is not None:
        where.append(f"finding_id IN ({','.join('?' * len(finding_ids))})" if finding_ids else "0")
        params.extend(finding_ids)
    tail = f" LIMIT {int(limit)}" if limit is not None else ""
    rows = people.con.execute(
        f"SELECT {_FINDING_COLUMNS} FROM rm_findings WHERE {' AND '.join(where)} "
        f"ORDER BY severity_rank DESC, score DESC, finding_id{tail}", params).fetchall()
    return [_finding_rm(r) for r in rows]


def get_finding(people: PeopleStore, finding_id: str) -> FindingReadModel | None:
    row = people.con.execute(f"SELECT {_FINDING_COLUMNS} FROM rm_findings WHERE finding_id = ?",
                             [finding_id]).fetchone()
    return None if row is None else _finding_rm(row)


def detectors(people: PeopleStore) -> list[str]:
    return [r[0] for r in people.con.execute("SELECT DISTINCT detector FROM rm_findings ORDER BY 1").fetchall()]


def trend(people: PeopleStore) -> list[TrendPoint]:
    rows = people.con.execute("SELECT assessment_id, assessed_at, as_of, risk_level, organisations FROM rm_trend "
                              "ORDER BY assessed_at, risk_level").fetchall()
    return [TrendPoint(str(r[0]), str(r[1]), r[2], str(r[3]), int(r[4])) for r in rows]


# -- who had access: for the national report's limitations -----------------------------------------
@dataclass(frozen=True)
class AccessSummary:
    """Who used the web app in a period and what they read (for a report's limitations section)."""

    since: datetime | None
    until: datetime | None
    entries: int
    people: dict[str, dict[str, Any]]  # username -> {role, reads, denied, orgs (sorted ids), first, last}
    chain_ok: bool
    chain_detail: str | None


def access_summary(people_store: PeopleStore, since: datetime | None = None,
                   until: datetime | None = None) -> AccessSummary:
    """Who had access to audit-kit's pages and API in [since, until), with what they read; and whether
    the access log's chain verifies. The report calls this for its limitations section."""
    out: dict[str, dict[str, Any]] = {}
    entries = access_entries(people_store, since, until)
    for e in entries:
        if not e.username:
            continue
        p = out.setdefault(e.username, {"role": e.role, "reads": 0, "denied": 0, "orgs": set(),
                                        "first": e.at, "last": e.at})
        if e.status >= 400:
            p["denied"] += 1
        elif e.object_kind is not None:
            p["reads"] += 1
            if e.org_id:
                p["orgs"].add(e.org_id)
        p["last"] = e.at
    for p in out.values():
        p["orgs"] = sorted(p["orgs"])
    check = verify_access_log(people_store)
    detail = None if check.ok else f"broken at entry {check.broken_at}: {check.reason}"
    return AccessSummary(since, until, len(entries), out, check.ok, detail)


def has_web_tables(people: PeopleStore) -> bool:
    """Whether the file has the web app's tables (a read-only open of an older file is not upgraded)."""
    row = people.con.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'web_access_log'").fetchone()
    return bool(row and row[0])
