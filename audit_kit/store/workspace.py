"""The workspace: one directory holding a review's DuckDB store, quarantine and pseudonymisation key.

Everything that persists goes through here, so every layer sees the same tables and the same
transaction rules: a unit of work either commits whole or leaves the workspace as it was. Opening a
workspace brings its schema up to date (`store/migrations.py`); what each table holds and how it is
queried belongs to one repository module beside this one (findings, assessments, scans…).

The workspace never reads the environment: the memory it may use comes in as `MemoryLimits`, which
the application layer resolves once at the edge (`audit_kit.app.context`).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from audit_kit.errors import ConfigError, WorkspaceError
from audit_kit.store import migrations
from audit_kit.store.sql import fetch_one

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends.duckdb import Backend as IbisDuckDB

DB_FILE = "audit.duckdb"
KEY_FILE = "pseudonym.key"
QUARANTINE_DIR = "quarantine"
DEFAULT_WORKSPACE = Path("audit-workspace")
# DuckDB working memory for every command: enough for 10M events at full speed within a 2 GB process;
# bigger logs spill to disk rather than fail.
DEFAULT_MEMORY_CAP = "1GB"
_MEMORY_RE = re.compile(r"^(\d+(\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)
_UNIT_BYTES = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
               "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
MIN_MEMORY_BYTES = 100 * 10**6

__all__ = ["DB_FILE", "DEFAULT_WORKSPACE", "MemoryLimits", "Workspace", "fetch_one", "pseudonymise"]


def check_memory_size(value: str, source: str) -> str | None:
    """A DuckDB memory size ('1GB', '1500MB', '4GiB'), or None for 'none' (DuckDB's own default).

    Raises ConfigError naming `source` (e.g. "$AUDIT_KIT_MEMORY") for anything else.
    """
    text = value.strip()
    if text.lower() == "none":
        return None
    m = _MEMORY_RE.match(text)
    if not m:
        raise ConfigError(f"{source}={value!r}: expected a size such as 1GB, 1500MB or 4GiB (or 'none')")
    if float(m.group(1)) * _UNIT_BYTES[m.group(3).upper()] < MIN_MEMORY_BYTES:
        raise ConfigError(f"{source}={value!r}: too little for DuckDB to work in; give at least 100MB (or 'none')")
    return text


@dataclass(frozen=True)
class MemoryLimits:
    """DuckDB working memory: `base` for every command, and heavier jobs' own caps (`jobs["detect"]`).

    None means DuckDB's own default (80% of the machine). A job without its own cap runs under `base`.
    """

    base: str | None = DEFAULT_MEMORY_CAP
    jobs: Mapping[str, str | None] = field(default_factory=dict)

    def for_job(self, job: str) -> str | None:
        return self.jobs[job] if job in self.jobs else self.base


class Workspace:
    """An open audit-kit workspace. Use `Workspace.open(path)` (or `create=True` for a new one)."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, limits: MemoryLimits | None = None) -> None:
        self.path = path
        self.con = con
        self.limits = limits or MemoryLimits()
        self._ibis: IbisDuckDB | None = None
        self._key: str | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def open(
        cls, path: str | os.PathLike[str], create: bool = False, read_only: bool = False,
        limits: MemoryLimits | None = None,
    ) -> Workspace:
        """Open the workspace at `path`; with `create`, make it if missing. Its schema is brought up to
        date (read-only: checked, never changed).

        Raises WorkspaceError naming the path when it is missing, not a workspace, in use, made by a
        newer audit-kit, or (read-only) in need of an upgrade.
        """
        root = Path(path)
        db = root / DB_FILE
        if root.exists() and not root.is_dir():
            raise WorkspaceError(f"{root}: is a file, not a workspace directory",
                                 hint="give --workspace a directory (new or made by audit-kit)")
        if not db.exists():
            if not create:
                raise WorkspaceError(
                    f"{root}: no audit-kit workspace here",
                    hint="run `audit-kit ingest DATASET_DIR --workspace " + str(root) + "` first",
                )
            if root.exists() and any(root.iterdir()) and not (root / QUARANTINE_DIR).exists():
                raise WorkspaceError(f"{root}: directory exists and is not an audit-kit workspace")
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WorkspaceError(f"{root}: cannot create the workspace ({exc.strerror or exc})") from None
        try:
            con = duckdb.connect(str(db), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise WorkspaceError(
                    f"{root}: workspace is in use by another audit-kit process",
                    hint="wait for it to finish; only one process may write a workspace at a time",
                ) from None
            raise WorkspaceError(f"{root}: cannot open workspace: {exc}") from None
        except duckdb.Error as exc:  # a damaged or foreign file where the store should be
            raise WorkspaceError(f"{db}: cannot be read as an audit-kit workspace ({exc})",
                                 hint="restore the workspace from a backup, or start a new one") from None
        limits = limits or MemoryLimits()
        # Naive timestamps must never take the machine's zone: the store works in UTC.
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        con.execute("SET preserve_insertion_order = true")  # appended rows keep file order (row numbers)
        # Every command works within a bounded amount of memory (DuckDB's own default is 80% of the
        # machine, which a shared server cannot afford); beyond it DuckDB spills to WS/audit.duckdb.tmp.
        _set_memory(con, limits.base)
        ws = cls(root, con, limits)
        try:
            if read_only:
                migrations.check_readable(con, root)
            else:
                (root / QUARANTINE_DIR).mkdir(exist_ok=True)
                migrations.upgrade(con, root)
        except BaseException:
            con.close()
            raise
        return ws

    def cursor(self) -> Workspace:
        """The same workspace on a separate DuckDB cursor: its results never interleave with this one's
        (a half-read result blocks a connection in DuckDB 2). Close it when done."""
        other = Workspace(self.path, self.con.cursor(), self.limits)
        other._key = self._key
        return other

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        try:
            self.con.close()
        except duckdb.Error:
            pass

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def read_only(self) -> bool:
        row = fetch_one(self.con, "SELECT current_setting('access_mode')")
        return row is not None and row[0] == "read_only"

    # -- units of work -----------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a unit of work atomically: commit on success, roll back on any exception or kill."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    @contextmanager
    def memory_cap(self, job: str) -> Iterator[None]:
        """Run one heavy job (`ingest`, `detect`…) under its own memory limit, then go back to the base."""
        _set_memory(self.con, self.limits.for_job(job))
        try:
            yield
        finally:
            _set_memory(self.con, self.limits.base)

    # -- access --------------------------------------------------------------------------------
    @property
    def quarantine_dir(self) -> Path:
        return self.path / QUARANTINE_DIR

    @property
    def ibis(self) -> IbisDuckDB:
        """The Ibis backend over this workspace's DuckDB connection (what detectors run on)."""
        if self._ibis is None:
            import ibis

            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis

    def table(self, name: str) -> ir.Table:
        """An Ibis table expression for a workspace table."""
        return self.ibis.table(name)

    def has_table(self, name: str) -> bool:
        row = fetch_one(
            self.con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        )
        return bool(row and row[0])

    def count(self, name: str) -> int:
        """Row count of a workspace table (0 if it does not exist)."""
        if not self.has_table(name):
            return 0
        row = fetch_one(self.con, f'SELECT count(*) FROM "{name}"')
        return int(row[0]) if row else 0

    def meta_get(self, key: str, default: str | None = None) -> str | None:
        row = fetch_one(self.con, "SELECT value FROM meta WHERE key = ?", [key])
        return row[0] if row else default

    def meta_set(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    @property
    def schema_version(self) -> int:
        """The schema version this workspace is at (see store/migrations.py)."""
        return migrations.current_version(self.con)

    # -- pseudonymisation ------------------------------------------------------------------------
    @property
    def pseudonym_key(self) -> str:
        """The workspace's secret key for record pseudonyms; made on first use, never reported."""
        if self._key is None:
            path = self.path / KEY_FILE
            if not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_hex(32))
            self._key = path.read_text().strip()
        return self._key

    def pseudonymise(self, record_id: str | None) -> str | None:
        """Stable keyed pseudonym for a record id, e.g. 'R-3f9a1c0d2b7e4a51'."""
        return pseudonymise(self.pseudonym_key, record_id)

    def pseudonymise_expr(self, column: ir.StringValue) -> ir.StringValue:
        """The same pseudonym as an Ibis expression, so engines compute it without pulling ids out."""
        import ibis

        digest = (ibis.literal(self.pseudonym_key + ":") + column).hexdigest("sha256")
        return ibis.literal("R-") + digest.substr(0, 16)

    def sql(self, query: str, params: list[Any] | None = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(query, params or [])


def _set_memory(con: duckdb.DuckDBPyConnection, value: str | None) -> None:
    if value is None:
        con.execute("RESET memory_limit")
    else:
        con.execute(f"SET memory_limit = '{value}'")


def pseudonymise(key: str, record_id: str | None) -> str | None:
    """Keyed hash of a record id: sha256(key ':' id), first 16 hex digits, prefixed 'R-'."""
    if record_id is None:
        return None
    return "R-" + hashlib.sha256(f"{key}:{record_id}".encode()).hexdigest()[:16]
