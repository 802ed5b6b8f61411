"""Schema versions of the workspace store, and the migrations between them.

A workspace records its schema version in `meta`. Opening one read-write brings it to `SCHEMA_VERSION`
in one transaction: the steps below run in order, then every repository's tables are made if missing
(a table a repository adds in a later release needs no step of its own). A workspace written by a
newer audit-kit is refused rather than guessed at; a read-only open never changes anything and
refuses a workspace that still needs an upgrade.

Version history:
1. the first release: tables made lazily by each module, the version written but never read.
2. every repository's tables made when a workspace opens; detection runs and assessments record the
   configuration they were judged under (`config_source`, `config_sha256`).
3. events keep the source's own name for what was done (`source_action`: a CloudTrail eventName, a FHIR
   code, an OCSF activity) and what an event on no child's record acted on (`target`: a user, role,
   trail or key), now that logins, denied attempts and administration are stored as events too.
4. kept per-day aggregates of the events (`agg_*`, `store/aggregates.py`): made empty by the step and
   built from the events by the first command that needs them (or `audit-kit rebuild`).
5. `agg_records` counts the creates and updates of each user on each child's record per day (`n_work`), so
   no detector reads `events` for them; the aggregates' definitions version moves on, so the first command
   that needs them rebuilds them from the events (as after step 4).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from audit_kit.errors import WorkspaceError
from audit_kit.store import aggregates, assessments, findings, ingest, questionnaires, scans
from audit_kit.store.sql import fetch_all, fetch_one

SCHEMA_VERSION = 5

# Every repository's DDL, in dependency order (all CREATE TABLE IF NOT EXISTS).
REPOSITORIES = (ingest, findings, assessments, questionnaires, scans, aggregates)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in fetch_all(con, "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                                    [table])}


def _add_columns(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]) -> None:
    """Add each missing column to `table` if the table exists (a step must work on any v1 workspace)."""
    have = _columns(con, table)
    if not have:
        return
    for name, type_ in columns.items():
        if name not in have:
            con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {type_}')


def _v1_to_v2(con: duckdb.DuckDBPyConnection) -> None:
    _add_columns(con, "detection_runs", {"config_source": "VARCHAR", "config_sha256": "VARCHAR"})
    _add_columns(con, "assessments", {"config_source": "VARCHAR", "config_sha256": "VARCHAR"})


def _v2_to_v3(con: duckdb.DuckDBPyConnection) -> None:
    _add_columns(con, "events", {"source_action": "VARCHAR", "target": "VARCHAR"})


def _v3_to_v4(con: duckdb.DuckDBPyConnection) -> None:
    # The kept aggregates start empty and unbuilt (no agg_state version): the first detect, assess,
    # scan or `audit-kit rebuild` builds them from the events, in a transaction of its own.
    for ddl in aggregates.DDL:
        con.execute(ddl)


def _v4_to_v5(con: duckdb.DuckDBPyConnection) -> None:
    # The column starts empty; agg_state's definitions version no longer matches, so the aggregates are
    # rebuilt whole (every column, this one included) by the first command that reads them.
    _add_columns(con, "agg_records", {"n_work": "BIGINT"})


# STEPS[n] takes a workspace from version n to n + 1.
STEPS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4, 4: _v4_to_v5}


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The version recorded in `meta` (0 for a store with no meta table: a brand-new file)."""
    tables = fetch_one(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'")
    if not tables or not tables[0]:
        return 0
    row = fetch_one(con, "SELECT value FROM meta WHERE key = 'schema_version'")
    if row is None:
        return 0
    try:
        return int(row[0])
    except ValueError:
        return -1


def _refuse_newer(version: int, root: Path) -> None:
    if version > SCHEMA_VERSION or version < 0:
        raise WorkspaceError(
            f"{root}: this workspace was written by a newer audit-kit (schema version "
            f"{version if version > 0 else 'unknown'}; this release reads up to {SCHEMA_VERSION})",
            hint="upgrade audit-kit to open it; nothing was changed",
        )


def check_readable(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """For a read-only open: refuse a newer workspace, and one that an upgrade would change."""
    version = current_version(con)
    _refuse_newer(version, root)
    if version < SCHEMA_VERSION:
        raise WorkspaceError(
            f"{root}: this workspace is at schema version {version} and needs an upgrade to {SCHEMA_VERSION}",
            hint="run any command that writes to it once (e.g. `audit-kit assess --workspace ...`)",
        )


def upgrade(con: duckdb.DuckDBPyConnection, root: Path) -> int:
    """Bring the store to SCHEMA_VERSION in one transaction; returns the version it was at."""
    version = current_version(con)
    _refuse_newer(version, root)
    con.execute("BEGIN TRANSACTION")
    try:
        if version == 0:  # a brand-new store: every table at today's shape
            version = SCHEMA_VERSION
        for step in range(version, SCHEMA_VERSION):
            STEPS[step](con)
        for repo in REPOSITORIES:
            for ddl in repo.DDL:
                con.execute(ddl)
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return version
