"""The kept per-day aggregates of the events: their tables, which ingest batches they include, and the
statements that replace a set of days.

What each aggregate holds is defined once, as Ibis, in `audit_kit.engine.aggregates` (the engine layer
compiles it and hands the SELECT here); this repository owns the tables and their bookkeeping:

* `agg_activity`, `agg_records`, `agg_sessions`, `agg_org_ips` — one row per UTC `day` and keys;
* `agg_batches` — the ingest batches whose events the aggregates include;
* `agg_state` — the definitions' version the tables were built with, and the event count they saw.

The aggregates are current when every events batch is folded in, the version matches and the events
table holds as many rows as they were built from (events written by hand, without an ingest, show up
there and cause a rebuild). Replacing a day deletes its rows and inserts them again from the events of
that day, in the caller's transaction, so a killed ingest or scan leaves them as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from audit_kit.store.sql import fetch_all, fetch_one

if TYPE_CHECKING:
    from audit_kit.store.workspace import Workspace

# Bump when a definition in audit_kit.engine.aggregates changes: workspaces rebuild their aggregates.
VERSION = "2"  # 2: agg_records.n_work (creates and updates), read by the relationship detectors
TABLES = ("activity", "records", "sessions", "org_ips")

DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS agg_activity (
        day DATE, hour TIMESTAMP, user_id VARCHAR, org_id VARCHAR, purpose VARCHAR,
        n BIGINT, n_ok BIGINT, first_ts TIMESTAMP, last_ts TIMESTAMP, n_rec BIGINT, n_view BIGINT,
        n_export BIGINT, n_export_rows BIGINT, n_search BIGINT, n_search_rows BIGINT, n_denied BIGINT,
        n_failed_login BIGINT, n_login BIGINT, n_password BIGINT, n_auth BIGINT, n_bg_all BIGINT)""",
    """CREATE TABLE IF NOT EXISTS agg_records (
        day DATE, user_id VARCHAR, org_id VARCHAR, record_id VARCHAR, purpose VARCHAR,
        n_ok BIGINT, first_ok TIMESTAMP, last_ok TIMESTAMP, n_export BIGINT, n_export_only BIGINT, n_bg BIGINT,
        n_bg_all BIGINT, n_view BIGINT, n_read BIGINT, n_work BIGINT)""",
    """CREATE TABLE IF NOT EXISTS agg_sessions (
        day DATE, org_id VARCHAR, user_id VARCHAR, session_id VARCHAR,
        n BIGINT, t0 TIMESTAMP, t1 TIMESTAMP, ip VARCHAR, n_auth BIGINT, n_strong BIGINT, n_service BIGINT)""",
    """CREATE TABLE IF NOT EXISTS agg_org_ips (day DATE, org_id VARCHAR, source_ip VARCHAR, n BIGINT)""",
    "CREATE TABLE IF NOT EXISTS agg_batches (batch_id VARCHAR PRIMARY KEY, folded_at TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS agg_state (key VARCHAR PRIMARY KEY, value VARCHAR)",
    # The fold that last recomputed each day (a kept baseline learnt from a day records the versions it saw).
    "CREATE TABLE IF NOT EXISTS agg_days (day DATE PRIMARY KEY, version BIGINT)",
    # Baselines learnt from the aggregates and kept (a cache: each row names a table bl_<key>).
    """CREATE TABLE IF NOT EXISTS kept_baselines (
        key VARCHAR PRIMARY KEY, label VARCHAR, table_name VARCHAR, baseline_start DATE, baseline_end DATE,
        created_at TIMESTAMP, rows BIGINT)""",
)


def table_name(name: str) -> str:
    if name not in TABLES:
        raise KeyError(f"no kept aggregate {name!r}")
    return f"agg_{name}"


def _state(ws: Workspace, key: str) -> str | None:
    row = fetch_one(ws.con, "SELECT value FROM agg_state WHERE key = ?", [key])
    return row[0] if row else None


def _set_state(ws: Workspace, key: str, value: str) -> None:
    ws.con.execute("INSERT OR REPLACE INTO agg_state VALUES (?, ?)", [key, value])


def _event_count(ws: Workspace) -> int:
    row = fetch_one(ws.con, "SELECT count(*) FROM events")
    return int(row[0]) if row else 0


def pending_batches(ws: Workspace) -> list[str]:
    """Events batches (ingest_files of kind events) not yet folded into the aggregates, oldest first."""
    return [r[0] for r in fetch_all(
        ws.con,
        "SELECT DISTINCT batch_id FROM ingest_files WHERE kind = 'events' AND batch_id IS NOT NULL"
        " AND batch_id NOT IN (SELECT batch_id FROM agg_batches) ORDER BY batch_id")]


def all_event_batches(ws: Workspace) -> list[str]:
    return [r[0] for r in fetch_all(
        ws.con, "SELECT DISTINCT batch_id FROM ingest_files WHERE kind = 'events' AND batch_id IS NOT NULL")]


def needs_rebuild(ws: Workspace) -> bool:
    """True when the aggregates were never built, were built by other definitions, or no longer match the
    events table's size once the pending batches are counted (events written outside an ingest)."""
    if _state(ws, "version") != VERSION:
        return True
    seen = _state(ws, "events")
    if seen is None:
        return True
    pending = pending_batches(ws)
    added = 0
    if pending:
        row = fetch_one(ws.con, "SELECT count(*) FROM events WHERE batch_id IN (SELECT unnest(?::VARCHAR[]))",
                        [pending])
        added = int(row[0]) if row else 0
    return int(seen) + added != _event_count(ws)


def is_current(ws: Workspace) -> bool:
    """True when the aggregates include every stored event (nothing pending, nothing written by hand)."""
    return not needs_rebuild(ws) and not pending_batches(ws)


def days_of_batches(ws: Workspace, batches: Sequence[str]) -> list[date]:
    """The UTC days the events of these batches fall on."""
    return [r[0] for r in fetch_all(
        ws.con,
        "SELECT DISTINCT CAST(\"timestamp\" AS DATE) AS d FROM events WHERE batch_id IN (SELECT unnest(?::VARCHAR[]))"
        " ORDER BY d", [list(batches)])]


def kept_days(ws: Workspace) -> list[date]:
    return [r[0] for r in fetch_all(ws.con, "SELECT DISTINCT day FROM agg_activity ORDER BY day")]


def _range_sql(column: str, ranges: Sequence[tuple[date, date]]) -> str:
    parts = [f"({column} >= DATE '{lo.isoformat()}' AND {column} < DATE '{hi.isoformat()}')" for lo, hi in ranges]
    return "(" + " OR ".join(parts) + ")" if parts else "false"


def create_fold_source(ws: Workspace, view: str, ranges: Sequence[tuple[date, date]] | None) -> None:
    """A temporary view of the events of the given UTC day ranges (all events for None)."""
    # Timestamp bounds rather than a cast per row, so DuckDB skips row groups outside the days.
    cond = "true" if ranges is None else _range_sql('"timestamp"', ranges)
    ws.con.execute(f'CREATE OR REPLACE TEMP VIEW "{view}" AS SELECT * FROM events WHERE {cond}')


def drop_fold_source(ws: Workspace, view: str) -> None:
    ws.con.execute(f'DROP VIEW IF EXISTS "{view}"')


def replace_days(ws: Workspace, name: str, ranges: Sequence[tuple[date, date]] | None, select_sql: str) -> None:
    """Replace aggregate `name`'s rows for the day ranges with `select_sql`'s rows (None: only insert, into
    tables `clear` emptied). The caller owns the transaction; `select_sql` reads the fold source view of the
    same days."""
    table = table_name(name)
    if ranges is not None:
        if not ranges:
            return
        ws.con.execute(f"DELETE FROM {table} WHERE {_range_sql('day', ranges)}")
    ws.con.execute(f"INSERT INTO {table} BY NAME {select_sql}")


def clear(ws: Workspace) -> None:
    """Empty every kept aggregate (before a rebuild)."""
    for name in TABLES:
        ws.con.execute(f"DELETE FROM {table_name(name)}")


def event_days(ws: Workspace) -> tuple[date, date] | None:
    """The first and last UTC day holding events."""
    row = fetch_one(ws.con, 'SELECT min("timestamp")::DATE, max("timestamp")::DATE FROM events')
    return None if row is None or row[0] is None else (row[0], row[1])


def bump_days(ws: Workspace, ranges: Sequence[tuple[date, date]] | None) -> int:
    """Record that the days of `ranges` (every kept day for None) were recomputed by a new fold; returns
    its version. Kept baselines learnt from one of those days no longer match."""
    row = fetch_one(ws.con, "SELECT coalesce(max(version), 0) FROM agg_days")
    version = (int(row[0]) if row else 0) + 1
    if ranges is None:
        ws.con.execute("DELETE FROM agg_days")
        ws.con.execute("INSERT INTO agg_days SELECT DISTINCT day, ? FROM agg_activity", [version])
    else:
        for lo, hi in ranges:
            ws.con.execute(
                "INSERT OR REPLACE INTO agg_days SELECT CAST(d AS DATE), ? FROM range(?::TIMESTAMP, ?::TIMESTAMP, "
                "INTERVAL 1 DAY) t(d)", [version, lo, hi])
    return version


def data_stamp(ws: Workspace, start: date, end: date) -> str:
    """What the kept aggregates of days [start, end) were computed from: the days and their fold versions."""
    row = fetch_one(ws.con, "SELECT count(*), coalesce(max(version), 0), coalesce(sum(version), 0) FROM agg_days"
                            " WHERE day >= ? AND day < ?", [start, end])
    return "0:0:0" if row is None else f"{row[0]}:{row[1]}:{row[2]}"


def reference_stamp(ws: Workspace) -> str:
    """A fingerprint of the reference tables (organisations, users, subjects, involvements) as they are now."""
    from audit_kit.schema import REFERENCE_TABLES

    parts = []
    for t in REFERENCE_TABLES:
        cols = ", ".join(f'"{c.name}"' for c in t.columns)
        row = fetch_one(ws.con, f'SELECT count(*), coalesce(sum(hash({cols}))::VARCHAR, \'0\') FROM "{t.name}"')
        parts.append(f"{row[0]}:{row[1]}" if row else "0")
    return "|".join(parts)


@dataclass(frozen=True)
class KeptBaseline:
    key: str
    label: str
    table_name: str
    baseline_start: date
    baseline_end: date
    created_at: datetime
    rows: int


def kept_baselines(ws: Workspace) -> dict[str, KeptBaseline]:
    """Every kept baseline, by key."""
    return {r[0]: KeptBaseline(*r) for r in fetch_all(ws.con, "SELECT * FROM kept_baselines")}


def keep_baseline(ws: Workspace, key: str, label: str, start: date, end: date, select_sql: str) -> KeptBaseline:
    """Store `select_sql`'s rows as the kept baseline `key` (its table and index row in one transaction)."""
    name = f"bl_{key[:24]}"
    created = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with ws.transaction():
        ws.con.execute(f'DROP TABLE IF EXISTS "{name}"')
        ws.con.execute(f'CREATE TABLE "{name}" AS {select_sql}')
        row = fetch_one(ws.con, f'SELECT count(*) FROM "{name}"')
        rows = int(row[0]) if row else 0
        ws.con.execute("INSERT OR REPLACE INTO kept_baselines VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [key, label, name, start, end, created, rows])
    return KeptBaseline(key, label, name, start, end, created, rows)


def drop_stale_baselines(ws: Workspace, label: str, end: date, keep_key: str, older_than: date) -> int:
    """Drop kept baselines that can no longer be used: another version of `label` for the same baseline end
    (other data or settings), and any ending before `older_than`. Returns how many went."""
    stale = fetch_all(ws.con, "SELECT key, table_name FROM kept_baselines WHERE (label = ? AND baseline_end = ?"
                              " AND key <> ?) OR baseline_end < ?", [label, end, keep_key, older_than])
    if not stale:
        return 0
    with ws.transaction():
        for key, table in stale:
            ws.con.execute(f'DROP TABLE IF EXISTS "{table}"')
            ws.con.execute("DELETE FROM kept_baselines WHERE key = ?", [key])
    return len(stale)


def drop_all_baselines(ws: Workspace) -> int:
    """Forget every kept baseline (the caller owns the transaction)."""
    rows = fetch_all(ws.con, "SELECT key, table_name FROM kept_baselines")
    for _key, table in rows:
        ws.con.execute(f'DROP TABLE IF EXISTS "{table}"')
    ws.con.execute("DELETE FROM kept_baselines")
    return len(rows)


def mark_folded(ws: Workspace, batches: Sequence[str]) -> None:
    """Record these batches as included, and the events count the aggregates now reflect."""
    if batches:
        ws.con.execute(
            "INSERT OR IGNORE INTO agg_batches SELECT b, ? FROM (SELECT unnest(?::VARCHAR[]) AS b)",
            [datetime.now(UTC).replace(tzinfo=None, microsecond=0), list(batches)],
        )
    _set_state(ws, "events", str(_event_count(ws)))


def mark_built(ws: Workspace) -> None:
    _set_state(ws, "version", VERSION)
    _set_state(ws, "events", str(_event_count(ws)))


def sizes(ws: Workspace) -> dict[str, tuple[int, int]]:
    """Per kept aggregate: (rows, days) — what `audit-kit rebuild` and docs/scale.md report."""
    out: dict[str, tuple[int, int]] = {}
    for name in TABLES:
        row = fetch_one(ws.con, f"SELECT count(*), count(DISTINCT day) FROM {table_name(name)}")
        out[name] = (int(row[0]), int(row[1])) if row else (0, 0)
    return out


def stored_bytes(ws: Workspace) -> dict[str, int]:
    """Approximate bytes each kept aggregate takes in the store (DuckDB's own storage info)."""
    out: dict[str, int] = {}
    for name in TABLES:
        row = fetch_one(
            ws.con,
            f"SELECT count(DISTINCT block_id) FROM pragma_storage_info('{table_name(name)}') WHERE block_id IS NOT NULL",
        )
        blocks = int(row[0]) if row and row[0] is not None else 0
        out[name] = blocks * 262144  # DuckDB's block size
    return out
