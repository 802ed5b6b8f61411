"""The workspace: one directory holding a review's DuckDB store, quarantine and pseudonymisation key.

Everything that persists goes through here, so every layer sees the same tables and the same
transaction rules: a unit of work either commits whole or leaves the workspace as it was.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from audit_kit.errors import ConfigError, WorkspaceError
from audit_kit.schema import EVENTS, REFERENCE_TABLES

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends.duckdb import Backend as IbisDuckDB

DB_FILE = "audit.duckdb"
KEY_FILE = "pseudonym.key"
SCHEMA_VERSION = "1"
DEFAULT_WORKSPACE = Path("audit-workspace")
# DuckDB working memory for heavy jobs (ingest, detect): enough for 10M events at full speed
# within a 2 GB process; bigger logs spill to disk rather than fail.
DEFAULT_MEMORY_CAP = "1GB"
MEMORY_ENV = "AUDIT_KIT_MEMORY"
_MEMORY_RE = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)

_BOOKKEEPING_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    # One row per file ever ingested: the content hash makes re-ingest a no-op.
    """CREATE TABLE IF NOT EXISTS ingest_files (
        sha256 VARCHAR, path VARCHAR, kind VARCHAR, batch_id VARCHAR, ingested_at TIMESTAMP,
        read BIGINT, stored BIGINT, quarantined BIGINT, duplicates BIGINT)""",
    # Every rejected row, with where it came from and why. WS/quarantine/*.csv mirrors this.
    """CREATE TABLE IF NOT EXISTS quarantine (
        batch_id VARCHAR, source_file VARCHAR, source_row BIGINT, kind VARCHAR,
        reason VARCHAR, raw VARCHAR, quarantined_at TIMESTAMP)""",
)


def fetch_one(
    con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None
) -> tuple[Any, ...] | None:
    """First row of a query, with the result fully drained: DuckDB 2 refuses further statements on a
    connection (Ibis's included) while a result is left half-read, as `fetchone()` leaves it."""
    rows = con.execute(query, params or []).fetchall()
    return rows[0] if rows else None


class Workspace:
    """An open audit-kit workspace. Use `Workspace.open(path)` (or `create=True` for a new one)."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.path = path
        self.con = con
        self._ibis: IbisDuckDB | None = None
        self._key: str | None = None
        self._base_memory: str | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str], create: bool = False, read_only: bool = False) -> Workspace:
        """Open the workspace at `path`; with `create`, make it if missing.

        Raises WorkspaceError naming the path when it is missing, not a workspace, or in use.
        """
        root = Path(path)
        db = root / DB_FILE
        if not db.exists():
            if not create:
                raise WorkspaceError(
                    f"{root}: no audit-kit workspace here",
                    hint="run `audit-kit ingest DATASET_DIR --workspace " + str(root) + "` first",
                )
            if root.exists() and any(root.iterdir()) and not (root / "quarantine").exists():
                raise WorkspaceError(f"{root}: directory exists and is not an audit-kit workspace")
            root.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(db), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise WorkspaceError(
                    f"{root}: workspace is in use by another audit-kit process",
                    hint="wait for it to finish; only one process may write a workspace at a time",
                ) from None
            raise WorkspaceError(f"{root}: cannot open workspace: {exc}") from None
        # Naive timestamps must never take the machine's zone: the store works in UTC.
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        con.execute("SET preserve_insertion_order = true")  # appended rows keep file order (row numbers)
        ws = cls(root, con)
        # Every command works within a bounded amount of memory (DuckDB's own default is 80% of the
        # machine, which a shared server cannot afford); beyond it DuckDB spills to WS/audit.duckdb.tmp.
        ws._base_memory = memory_setting(None)
        if ws._base_memory is not None:
            con.execute(f"SET memory_limit = '{ws._base_memory}'")
        if not read_only:
            ws._ensure_schema()
        return ws

    def cursor(self) -> Workspace:
        """The same workspace on a separate DuckDB cursor: its results never interleave with this one's
        (a half-read result blocks a connection in DuckDB 2). Close it when done."""
        other = Workspace(self.path, self.con.cursor())
        other._key = self._key
        other._base_memory = self._base_memory
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

    def _ensure_schema(self) -> None:
        (self.path / "quarantine").mkdir(exist_ok=True)
        for ddl in _BOOKKEEPING_DDL:
            self.con.execute(ddl)
        for table in REFERENCE_TABLES:
            self.con.execute(table.ddl())
        self.con.execute(EVENTS.ddl())
        self.con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])

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
    def memory_cap(self, env: str, default: str | None = None) -> Iterator[None]:
        """Run one heavy job under its own DuckDB memory limit, then go back to the workspace's.

        `$<env>` (e.g. AUDIT_KIT_DETECT_MEMORY=4GB) sets it, else `$AUDIT_KIT_MEMORY`, else `default`
        (else 1GB); "none" lifts the cap to DuckDB's own default (80% of the machine).
        """
        value = memory_setting(env, default)
        if value is None:
            self.con.execute("RESET memory_limit")
        else:
            self.con.execute(f"SET memory_limit = '{value}'")
        try:
            yield
        finally:
            if self._base_memory is None:
                self.con.execute("RESET memory_limit")
            else:
                self.con.execute(f"SET memory_limit = '{self._base_memory}'")

    # -- access --------------------------------------------------------------------------------
    @property
    def quarantine_dir(self) -> Path:
        return self.path / "quarantine"

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


def memory_setting(env: str | None, default: str | None = None) -> str | None:
    """The DuckDB memory limit to use: `$<env>`, else `$AUDIT_KIT_MEMORY`, else `default` (else 1GB);
    None for "none" (DuckDB's own default). Raises ConfigError naming the variable for a bad size."""
    for name in (env, MEMORY_ENV):
        if name and os.environ.get(name, "").strip():
            value, source = os.environ[name].strip(), f"${name}"
            break
    else:
        value, source = default or DEFAULT_MEMORY_CAP, "default"
    if value.lower() == "none":
        return None
    if not _MEMORY_RE.match(value):
        raise ConfigError(f"{source}={value!r}: expected a size such as 1GB, 1500MB or 4GiB (or 'none')")
    return value


def pseudonymise(key: str, record_id: str | None) -> str | None:
    """Keyed hash of a record id: sha256(key ':' id), first 16 hex digits, prefixed 'R-'."""
    if record_id is None:
        return None
    return "R-" + hashlib.sha256(f"{key}:{record_id}".encode()).hexdigest()[:16]
