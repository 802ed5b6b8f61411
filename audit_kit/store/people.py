"""The people-side store: what reviewers, DPOs and the web app write while analytical jobs run.

DuckDB (the analytical store, `workspace.py`) takes one writing process at a time, and a scan or an
ingest holds it for minutes. Verdicts, notes, assignments, management responses, web sign-ins and the
tool's own access log must never wait for a scan, and a scan must never fail because someone is
reading a page. So they live apart, in `WS/people.sqlite`: SQLite in WAL mode, many readers and one
short writer at a time, every write a transaction of milliseconds (`BEGIN IMMEDIATE`, with a busy
timeout). Analytical jobs read it (a scan reads suppressions, detection reads explained verdicts) but
hold no lock on it while they compute.

Each feature's repository declares its tables in `PEOPLE_MIGRATIONS` below (append-only: a released
step is never edited; a new table or column is a new step). `PRAGMA user_version` records how far a
file has come; a file from a newer release is refused, as the DuckDB store does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from audit_kit.errors import WorkspaceError
from audit_kit.store import web

PEOPLE_FILE = "people.sqlite"
BUSY_TIMEOUT_MS = 10_000

# PEOPLE_MIGRATIONS[n] takes the file from version n to n + 1: a tuple of statements.
PEOPLE_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE IF NOT EXISTS people_meta (key TEXT PRIMARY KEY, value TEXT)",
    ),
    # Action plans issued to bodies and their management responses (store/actions.py).
    (
        """CREATE TABLE IF NOT EXISTS issued_actions (
            action_id TEXT NOT NULL, org_id TEXT NOT NULL, assessment_id TEXT NOT NULL, issued TEXT NOT NULL,
            due TEXT NOT NULL, priority TEXT NOT NULL, title TEXT NOT NULL, findings TEXT NOT NULL,
            owner_role TEXT NOT NULL, PRIMARY KEY (action_id, assessment_id))""",
        """CREATE TABLE IF NOT EXISTS action_responses (
            response_id INTEGER PRIMARY KEY AUTOINCREMENT, action_id TEXT NOT NULL, org_id TEXT NOT NULL,
            response TEXT, owner_name TEXT NOT NULL, status TEXT NOT NULL, agreed_date TEXT,
            evidence TEXT NOT NULL, comment TEXT NOT NULL, recorded_at TEXT NOT NULL,
            recorded_by TEXT NOT NULL, source TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS action_responses_by_action ON action_responses (org_id, action_id, response_id)",
    ),
    # 2 -> 3: the reviewer's workflow (store/review.py, docs/review.md). Times are ISO text, naive UTC.
    (
        # Findings published from the analytical store, with their review state (a read model the
        # web app reads without touching DuckDB). Rows are never deleted: a finding keeps its id,
        # state and history across reruns and scans.
        """CREATE TABLE IF NOT EXISTS review_findings (
            finding_id TEXT PRIMARY KEY, detector TEXT NOT NULL, severity TEXT NOT NULL,
            severity_rank INTEGER NOT NULL, score REAL NOT NULL, org_id TEXT, user_id TEXT, record TEXT,
            record_count INTEGER NOT NULL DEFAULT 0, first_seen TEXT, last_seen TEXT, summary TEXT NOT NULL,
            evidence TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'open', assignee TEXT, rule_id TEXT,
            first_detected TEXT NOT NULL, last_detected TEXT NOT NULL, updated_at TEXT NOT NULL,
            updated_by TEXT, present INTEGER NOT NULL DEFAULT 1, fingerprint TEXT)""",
        "CREATE INDEX IF NOT EXISTS review_findings_state ON review_findings (state, severity_rank)",
        "CREATE INDEX IF NOT EXISTS review_findings_org ON review_findings (org_id)",
        "CREATE INDEX IF NOT EXISTS review_findings_user ON review_findings (user_id)",
        # Every change to a finding: append-only.
        """CREATE TABLE IF NOT EXISTS review_events (
            event_id INTEGER PRIMARY KEY AUTOINCREMENT, finding_id TEXT NOT NULL, at TEXT NOT NULL,
            actor TEXT NOT NULL, kind TEXT NOT NULL, from_state TEXT, to_state TEXT, note TEXT,
            detail TEXT NOT NULL DEFAULT '{}')""",
        "CREATE INDEX IF NOT EXISTS review_events_finding ON review_events (finding_id, event_id)",
        # Suppressions and explanations left by verdicts; revoked ones are kept (who, when, why).
        """CREATE TABLE IF NOT EXISTS review_rules (
            rule_id TEXT PRIMARY KEY, kind TEXT NOT NULL, detector TEXT, org_id TEXT, user_id TEXT,
            record TEXT, explained_by TEXT, note TEXT NOT NULL, created_by TEXT NOT NULL,
            created_at TEXT NOT NULL, expires_at TEXT, source_finding TEXT, revoked_at TEXT,
            revoked_by TEXT, revoke_note TEXT,
            CHECK (kind IN ('suppression', 'explanation')),
            CHECK (kind = 'explanation' OR expires_at IS NOT NULL))""",
        # Each user's standing after each detection run or scan (people over time).
        """CREATE TABLE IF NOT EXISTS review_user_history (
            user_id TEXT NOT NULL, run_id TEXT NOT NULL, org_id TEXT, at TEXT NOT NULL,
            findings INTEGER NOT NULL, open INTEGER NOT NULL, confirmed INTEGER NOT NULL,
            explained INTEGER NOT NULL, false_positive INTEGER NOT NULL, risk_score REAL NOT NULL,
            worst_severity TEXT, PRIMARY KEY (user_id, run_id))""",
        # What each notification channel has delivered to each destination, so nothing goes twice.
        """CREATE TABLE IF NOT EXISTS review_deliveries (
            channel TEXT NOT NULL, destination TEXT NOT NULL, item TEXT NOT NULL, sent_at TEXT NOT NULL,
            reference TEXT, PRIMARY KEY (channel, destination, item))""",
    ),
    web.MIGRATION,  # 3 -> 4: web users, sessions, the access log, responses, received questionnaires, read models
    web.CARRY_TO_REVIEW,  # 4 -> 5: browser verdicts and responses through the review and the action plan
)
PEOPLE_VERSION = len(PEOPLE_MIGRATIONS)


class PeopleStore:
    """The people-side SQLite file of one workspace. Cheap to open; open one per thread or request."""

    def __init__(self, path: Path, con: sqlite3.Connection) -> None:
        self.path = path
        self.con = con

    @classmethod
    def open(cls, workspace: Path, read_only: bool = False) -> PeopleStore:
        """Open (and with write access, create or upgrade) `WORKSPACE/people.sqlite`.

        Raises WorkspaceError when the workspace directory is missing or the file is from a newer
        release or cannot be read.
        """
        root = Path(workspace)
        if not root.is_dir():
            raise WorkspaceError(f"{root}: no audit-kit workspace here",
                                 hint="run `audit-kit ingest DATASET_DIR --workspace " + str(root) + "` first")
        path = root / PEOPLE_FILE
        try:
            if read_only:
                if not path.exists():
                    raise WorkspaceError(f"{path}: nothing has been recorded in this workspace yet")
                con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                                      isolation_level=None, check_same_thread=False)
            else:
                con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                      check_same_thread=False)
                con.execute("PRAGMA journal_mode = WAL")
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("PRAGMA synchronous = NORMAL")  # safe in WAL mode; a power cut loses at most the last commit
        except sqlite3.Error as exc:
            raise WorkspaceError(f"{path}: cannot open the people store ({exc})") from None
        store = cls(path, con)
        try:
            store._upgrade(read_only)
        except BaseException:
            con.close()
            raise
        return store

    def _upgrade(self, read_only: bool) -> None:
        version = int(self.con.execute("PRAGMA user_version").fetchone()[0])
        if version > PEOPLE_VERSION:
            raise WorkspaceError(
                f"{self.path}: written by a newer audit-kit (people store version {version}; this release "
                f"reads up to {PEOPLE_VERSION})", hint="upgrade audit-kit to open it; nothing was changed")
        if version == PEOPLE_VERSION or read_only:
            return
        with self.transaction():
            for step in PEOPLE_MIGRATIONS[version:]:
                for statement in step:
                    self.con.execute(statement)
            self.con.execute(f"PRAGMA user_version = {PEOPLE_VERSION}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction: taken at once (BEGIN IMMEDIATE, so it never deadlocks upgrading a
        read lock), committed on success, rolled back on any error."""
        self.con.execute("BEGIN IMMEDIATE")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> PeopleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
