"""Validate, normalise and store events from any staged source; quarantine what fails, with reasons."""

from __future__ import annotations

from datetime import datetime

import duckdb

from audit_kit.ingest.mapping import IDENTITY, ColumnMapping
from audit_kit.ingest.models import FileReport
from audit_kit.ingest.sources import (
    Source,
    create_staged,
    drop_temp,
    ident,
    lit,
    numbered,
    quarantine_rejects,
)
from audit_kit.schema import ACTIONS, DEFAULT_TIMEZONE, EVENT_INPUT_FIELDS, OUTCOMES, RECORD_ACTIONS
from audit_kit.workspace import fetch_one

_OFFSET_RE = r"([zZ]|[+-]\d\d(:?\d\d)?)$"
_TRUE = ("true", "t", "1", "yes", "y")
_FALSE = ("false", "f", "0", "no", "n")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


def _timestamp_expr(mapping: ColumnMapping) -> str:
    """SQL turning the raw `timestamp` string into a TIMESTAMPTZ (NULL when it cannot be read)."""
    ts = '"timestamp"'
    if mapping.timestamp_format:
        parsed = f"try_strptime({ts}, {lit(mapping.timestamp_format)})"
        if "%z" in mapping.timestamp_format or "%Z" in mapping.timestamp_format:
            return parsed
        return f"timezone({lit(mapping.timezone or 'UTC')}, {parsed})"
    naive = f"timezone({lit(mapping.timezone)}, try_cast({ts} AS TIMESTAMP))" if mapping.timezone else "NULL"
    return f"CASE WHEN _has_offset THEN try_cast({ts} AS TIMESTAMPTZ) ELSE {naive} END"


def _reasons_expr(mapping: ColumnMapping) -> str:
    """One SQL string per row: every reason it fails the contract, '; '-joined ('' when valid)."""
    short = "left({}, 60)"
    naive_ok = bool(mapping.timezone or mapping.timestamp_format)
    checks = [
        f"""CASE WHEN "timestamp" IS NULL THEN 'timestamp is missing'
             WHEN _ts IS NULL AND NOT _has_offset AND NOT {str(naive_ok).lower()}
                  AND try_cast("timestamp" AS TIMESTAMP) IS NOT NULL
               THEN 'timestamp "' || {short.format('"timestamp"')} || '" has no UTC offset (expected ISO 8601 with Z or +HH:MM, or a timezone in the mapping file)'
             WHEN _ts IS NULL THEN 'timestamp "' || {short.format('"timestamp"')} || '" is not a valid date-time'
        END""",
        "CASE WHEN user_id IS NULL THEN 'user_id is missing' END",
        "CASE WHEN org_id IS NULL THEN 'org_id is missing' END",
        f"""CASE WHEN _action IS NULL THEN 'action is missing'
             WHEN _action NOT IN {_in(ACTIONS)} THEN 'action "' || {short.format("action")} || '" is not one of {", ".join(ACTIONS)}'
        END""",
        f"""CASE WHEN _outcome IS NULL THEN 'outcome is missing'
             WHEN _outcome NOT IN {_in(OUTCOMES)} THEN 'outcome "' || {short.format("outcome")} || '" is not one of {", ".join(OUTCOMES)}'
        END""",
        f"CASE WHEN record_id IS NULL AND _action IN {_in(RECORD_ACTIONS)} THEN 'record_id is missing for a ' || _action END",
        f"""CASE WHEN records_returned IS NOT NULL AND (_rr IS NULL OR _rr < 0)
             THEN 'records_returned "' || {short.format("records_returned")} || '" is not a whole number of 0 or more' END""",
        f"""CASE WHEN break_glass IS NOT NULL AND _bg IS NULL
             THEN 'break_glass "' || {short.format("break_glass")} || '" is not true or false' END""",
    ]
    return f"CASE WHEN _error IS NOT NULL THEN _error ELSE concat_ws('; ', {', '.join(checks)}) END"


def ingest_event_source(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    batch_id: str,
    ingested_at: datetime,
    mapping: ColumnMapping = IDENTITY,
) -> FileReport:
    """Store one staged events file; the caller owns the transaction. Returns the reconciled counts."""
    tag = "_n" + batch_id.replace("-", "")[-8:] + str(abs(hash(source.path)) % 10**6)
    content_hash = (
        "'h:' || md5(concat_ws(chr(31), \"timestamp\", user_id, org_id, record_id, _action, _outcome, "
        "session_id, source_ip, purpose, records_returned))"
    )
    fields = ", ".join(ident(f) for f in EVENT_INPUT_FIELDS if f not in ("action", "outcome"))
    create_staged(
        con,
        f"""CREATE TEMP TABLE {tag} AS
        WITH s AS ({source.sql}),
        p AS (
          SELECT *, lower(trim(action)) AS _action, lower(trim(outcome)) AS _outcome,
                 coalesce(regexp_matches("timestamp", {lit(_OFFSET_RE)}), false) AS _has_offset,
                 try_cast(records_returned AS INTEGER) AS _rr,
                 CASE WHEN lower(trim(break_glass)) IN {_in(_TRUE)} THEN true
                      WHEN lower(trim(break_glass)) IN {_in(_FALSE)} THEN false END AS _bg
          FROM s),
        t AS (SELECT *, {_timestamp_expr(mapping)} AS _ts FROM p)
        SELECT _k, _row, _raw, {fields}, _action AS action, _outcome AS outcome, _ts, _rr, _bg,
               coalesce(event_id, {content_hash}) AS _event_id,
               {_reasons_expr(mapping)} AS _reason
        FROM t""",
        source.path,
    )
    # Rows of a table created from an order-preserving scan are numbered in file order by rowid
    # (contiguous, but offset while the transaction is open: count from the first).
    first = fetch_one(con, f"SELECT min(rowid) FROM {tag}")[0] or 0  # type: ignore[index]
    con.execute(
        f"CREATE TEMP VIEW {tag}_v AS SELECT * REPLACE (coalesce(_k, rowid - {int(first)} + 1) AS _k) FROM {tag}"
    )
    try:
        return _store(con, f"{tag}_v", source, batch_id, ingested_at)
    finally:
        con.execute(f"DROP VIEW IF EXISTS {tag}_v")
        drop_temp(con, source, tag, f"{tag}_v_shift")


def _store(
    con: duckdb.DuckDBPyConnection, tag: str, source: Source, batch_id: str, ingested_at: datetime
) -> FileReport:
    path = str(source.path)
    frm, row, rejected = numbered(con, tag, source.rejects_table)
    if rejected:
        quarantine_rejects(con, source.rejects_table, batch_id, source.path, "events", ingested_at)
    parsed, invalid = fetch_one(con, f"SELECT count(*), count(*) FILTER (WHERE _reason <> '') FROM {tag}")  # type: ignore[misc]
    if invalid:
        con.execute(
            f"""INSERT INTO quarantine
            SELECT ?, ?, {row}, 'events', n._reason, n._raw, ? FROM {frm} WHERE n._reason <> ''""",
            [batch_id, path, ingested_at],
        )
    before = fetch_one(con, "SELECT count(*) FROM events")[0]  # type: ignore[index]
    con.execute(
        f"""INSERT INTO events
        SELECT v._event_id, v._ts AT TIME ZONE 'UTC',
               timezone(coalesce(o.timezone, {lit(DEFAULT_TIMEZONE)}), v._ts),
               v.user_id, v.org_id, v.record_id, v.action, v.outcome, v.source_ip, v.auth_method,
               v.purpose, v.session_id, v._rr, v._bg, ?, v._srow, ?, ?
        FROM (
            SELECT n.*, {row} AS _srow FROM {frm}
            WHERE n._reason = ''
            QUALIFY row_number() OVER (PARTITION BY n._event_id ORDER BY n._k) = 1
        ) v
        LEFT JOIN organisations o ON o.org_id = v.org_id
        WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = v._event_id)""",
        [path, ingested_at, batch_id],
    )
    stored = fetch_one(con, "SELECT count(*) FROM events")[0] - before  # type: ignore[index]
    valid = parsed - invalid
    return FileReport(
        path=path,
        kind="events",
        read=parsed + rejected,
        stored=stored,
        quarantined=invalid + rejected,
        duplicates=valid - stored,
    )
