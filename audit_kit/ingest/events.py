"""Validate, normalise and store events from any source; quarantine what fails, with reasons.

One pass over the source per file, straight into `events` (no staged copy of the file):

1. every parsed row is appended to `events` in file order (`preserve_insertion_order`), so the
   statement's rows hold the top rowids `first..last` — the parsed row k (1-based) is rowid first+k-1.
   A row that fails validation goes in with a NULL `event_id` and carries its reason and raw text in
   `purpose` and `session_id` until step 3 moves it out;
2. CSV rows get their file row number from that rowid (header = row 1, plus the lines the CSV parser
   rejected before them); other readers know their rows and wrote them in step 1;
3. failed rows (a cheap count over the new rowids first) move to `quarantine` and leave `events`;
4. duplicates — a repeated `event_id` within the file (the first in file order is kept) or one
   already stored — are found from the new rowids alone and deleted.

The caller owns the transaction, so nothing of this is visible unless the whole run commits.

(Why this module runs past 400 lines: the one-pass validate, number, quarantine and de-duplicate sequence over
a file is one transaction's logic; its steps share state (row ids, batch) that separate modules would have to
pass around.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import duckdb

from audit_kit.ingest.mapping import IDENTITY, ColumnMapping
from audit_kit.ingest.models import FileReport
from audit_kit.ingest.sources import (
    NOT_BLANK,
    Source,
    create_staged,
    drop_temp,
    lit,
    quarantine_rejects,
    swallowed_lines,
)
from audit_kit.schema import ACTIONS, DEFAULT_TIMEZONE, OUTCOMES, RECORD_REQUIRED_ACTIONS
from audit_kit.store.sql import fetch_value

# ISO 8601 date-times as the contract takes them: a date, a time of day, and an offset (Z or ±HH[:MM], at
# most ±18:00). A date alone is not a date-time ("2026-09-02" must not read "-02" as an offset).
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME = r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,9})?)?"
_OFFSET = r" ?([zZ]|[+-](0[0-9]|1[0-8])(:?[0-5][0-9])?)$"
ISO_WITH_OFFSET_RE = _DATE + _TIME + _OFFSET
ISO_NAIVE_RE = _DATE + _TIME + "$"
DATE_ONLY_RE = _DATE + "$"
WHOLE_NUMBER_RE = r"^[0-9]{1,9}$"  # records_returned: digits only (no 3.7, 1e3, 0x10, 1_000, -1)
_TRUE = ("true", "t", "1", "yes", "y")
_FALSE = ("false", "f", "0", "no", "n")
# Above this many organisations with their own time zone, look zones up with a join instead of a CASE.
_ZONE_CASE_LIMIT = 500
ORG_HINT = (
    "the record names no organisation: pass --org ORG_ID when the file is one body's own log, or give "
    "constants: {org_id: ...} (or columns/values) in a --mapping file"
)


@dataclass(frozen=True)
class EventLimits:
    """Which event times are plausible: none before `not_before` (the dataset's declared period, else a
    floor no real log predates) and none more than `future` past the time of the ingest. An event outside
    is quarantined, so one bad date can never stretch a window."""

    not_before: datetime = datetime(1990, 1, 1)
    not_after: datetime | None = None  # the end of the declared period, if any
    future: timedelta = timedelta(days=1)

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """(earliest, latest) acceptable UTC instants for an ingest at `now` (naive UTC)."""
        latest = now + self.future
        if self.not_after is not None:
            latest = min(latest, self.not_after)
        return self.not_before, latest


DEFAULT_LIMITS = EventLimits()


def _one_of(expr: str, values: tuple[str, ...]) -> str:
    """`expr` is one of `values`, as a CASE: DuckDB turns an IN list (or list_contains) of five or more
    constants into a join, and a join in the append loses the file order the row numbering relies on."""
    whens = " ".join(f"WHEN {lit(v)} THEN true" for v in values)
    return f"(CASE {expr} {whens} ELSE false END)"


def _timestamp_expr(mapping: ColumnMapping) -> str:
    """SQL turning the raw `timestamp` string into a TIMESTAMPTZ (NULL when it cannot be read)."""
    ts = '"timestamp"'
    if mapping.timestamp_format:
        parsed = f"try_strptime({ts}, {lit(mapping.timestamp_format)})"
        if "%z" in mapping.timestamp_format or "%Z" in mapping.timestamp_format:
            return parsed
        return f"timezone({lit(mapping.timezone or 'UTC')}, {parsed})"
    naive = f"timezone({lit(mapping.timezone)}, try_cast({ts} AS TIMESTAMP))" if mapping.timezone else "NULL"
    return (f"CASE WHEN _ts_shape = 'offset' THEN try_cast(replace({ts}, ',', '.') AS TIMESTAMPTZ) "
            f"WHEN _ts_shape = 'naive' THEN {naive} END")


def _ts_shape_expr() -> str:
    """What a raw timestamp looks like: 'offset', 'naive' (date and time), 'date' (no time) or 'other'."""
    ts = 'trim("timestamp")'
    return (f"CASE WHEN regexp_matches({ts}, {lit(ISO_WITH_OFFSET_RE)}) THEN 'offset' "
            f"WHEN regexp_matches({ts}, {lit(ISO_NAIVE_RE)}) THEN 'naive' "
            f"WHEN regexp_matches({ts}, {lit(DATE_ONLY_RE)}) THEN 'date' ELSE 'other' END")


def _reasons_expr(mapping: ColumnMapping) -> str:
    """One SQL string per row: every reason it fails the contract, '; '-joined ('' when valid)."""
    short = "left({}, 60)"
    quoted = "'timestamp \"' || " + short.format('"timestamp"') + " || '\"'"
    if mapping.timestamp_format:
        ts_checks = f"""CASE WHEN "timestamp" IS NULL THEN 'timestamp is missing'
             WHEN _ts IS NULL THEN {quoted} || ' does not match the mapping''s timestamp_format {mapping.timestamp_format.replace("'", "''")}'"""
    else:
        ts_checks = f"""CASE WHEN "timestamp" IS NULL THEN 'timestamp is missing'
             WHEN _ts_shape = 'date' THEN {quoted} || ' is a date with no time of day (expected ISO 8601 date-time with Z or +HH:MM)'
             WHEN _ts_shape = 'naive' AND _ts IS NULL AND try_cast("timestamp" AS TIMESTAMP) IS NOT NULL
               THEN {quoted} || ' has no UTC offset (expected ISO 8601 with Z or +HH:MM, or a timezone in the mapping file)'
             WHEN _ts_shape = 'other' AND regexp_matches(trim("timestamp"), '[+-][0-9]{{2}}(:?[0-9]{{2}})?$')
                  AND regexp_matches(trim("timestamp"), {lit(_DATE + _TIME)})
               THEN {quoted} || ' has an offset out of range (at most +/-18:00)'
             WHEN _ts IS NULL THEN {quoted} || ' is not a valid ISO 8601 date-time with Z or +HH:MM'"""
    ts_checks += f"""
             WHEN _ts < $not_before THEN {quoted} || ' is before ' || strftime($not_before, '%Y-%m-%d') ||
               ' (the start of the dataset''s period or the earliest plausible date; --not-before)'
             WHEN _ts > $not_after THEN {quoted} || ' is after ' || strftime($not_after, '%Y-%m-%dT%H:%M') ||
               ' UTC (in the future beyond the tolerance, or after the dataset''s period; --not-after, --future-tolerance)'
        END"""
    checks = [
        ts_checks,
        "CASE WHEN user_id IS NULL THEN 'user_id is missing' END",
        f"CASE WHEN org_id IS NULL THEN {lit('org_id is missing: ' + ORG_HINT)} END",
        f"""CASE WHEN _action IS NULL THEN 'action is missing'
             WHEN NOT {_one_of('_action', ACTIONS)} THEN 'action "' || {short.format("action")} || '" is not one of {", ".join(ACTIONS)}'
        END""",
        f"""CASE WHEN _outcome IS NULL THEN 'outcome is missing'
             WHEN NOT {_one_of('_outcome', OUTCOMES)} THEN 'outcome "' || {short.format("outcome")} || '" is not one of {", ".join(OUTCOMES)}'
        END""",
        # A failed or denied attempt may name no record (it can fail before one is found).
        f"CASE WHEN record_id IS NULL AND _outcome = 'success' AND {_one_of('_action', RECORD_REQUIRED_ACTIONS)} "
        "THEN 'record_id is missing for a ' || _action END",
        f"""CASE WHEN records_returned IS NOT NULL AND _rr IS NULL
             THEN 'records_returned "' || {short.format("records_returned")} || '" is not a whole number of 0 or more' END""",
        f"""CASE WHEN break_glass IS NOT NULL AND _bg IS NULL
             THEN 'break_glass "' || {short.format("break_glass")} || '" is not true or false' END""",
    ]
    return f"CASE WHEN _error IS NOT NULL THEN _error ELSE concat_ws('; ', {', '.join(checks)}) END"


def _own_zones(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Organisations whose time zone is not the default, as (org_id, zone)."""
    return con.execute(
        "SELECT org_id, timezone FROM organisations WHERE timezone IS NOT NULL AND timezone <> ? ORDER BY org_id",
        [DEFAULT_TIMEZONE],
    ).fetchall()


def _zone_expr(zones: list[tuple[str, str]]) -> str:
    """SQL for each event's organisation time zone when few organisations have their own (else the
    default; `_fix_local_times` corrects the rest after the append).

    Not a join: with a file's size unknown to the planner, a join may build its hash table on the
    events and emit them out of file order, which the row numbering relies on.
    """
    if not zones or len(zones) > _ZONE_CASE_LIMIT:
        return lit(DEFAULT_TIMEZONE)
    cases = " ".join(f"WHEN {lit(org)} THEN {lit(tz)}" for org, tz in zones)
    return f"(CASE v.org_id {cases} ELSE {lit(DEFAULT_TIMEZONE)} END)"


def _fix_local_times(con: duckdb.DuckDBPyConnection, first: int) -> None:
    """Local wall-clock times for many organisations with their own zones, by an update with a join."""
    con.execute(
        f"""UPDATE events SET local_time = timezone(o.timezone, timezone('UTC', events."timestamp"))
        FROM organisations o
        WHERE events.rowid >= {first} AND o.org_id = events.org_id
          AND o.timezone IS NOT NULL AND o.timezone <> {lit(DEFAULT_TIMEZONE)}"""
    )


def _append_sql(source: Source, mapping: ColumnMapping, zone: str, row: str = "v._row") -> str:
    """INSERT of every parsed row of `source` into events, in file order (see the module docstring);
    `row` is what goes in `source_row` for now."""
    # A source with no ids gets a hash of the event's content, its time normalised to the UTC instant
    # (so "…Z" and "…+00:00" are the same event).
    content_hash = (
        "'h:' || md5(concat_ws(chr(31), strftime(v._ts AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f'), v.user_id, "
        "v.org_id, v.record_id, v._action, v._outcome, v.session_id, v.source_ip, v.purpose, CAST(v._rr AS VARCHAR), "
        "v.source_action, v.target))"
    )
    ok = "v._reason = ''"
    raw = f"({source.raw_expr})" if source.raw_expr else "v._raw"
    return f"""INSERT INTO events (event_id, "timestamp", local_time, user_id, org_id, record_id, action, outcome,
            source_ip, auth_method, purpose, session_id, records_returned, break_glass,
            source_file, source_row, ingested_at, batch_id, source_action, target)
        WITH s AS ({source.sql}),
        p AS (
          SELECT *, lower(trim(action)) AS _action, lower(trim(outcome)) AS _outcome,
                 {_ts_shape_expr()} AS _ts_shape,
                 CASE WHEN regexp_matches(trim(records_returned), {lit(WHOLE_NUMBER_RE)})
                      THEN CAST(trim(records_returned) AS INTEGER) END AS _rr,
                 CASE WHEN {_one_of('lower(trim(break_glass))', _TRUE)} THEN true
                      WHEN {_one_of('lower(trim(break_glass))', _FALSE)} THEN false END AS _bg
          FROM s),
        t AS (SELECT *, {_timestamp_expr(mapping)} AS _ts FROM p),
        v AS (SELECT *, {_reasons_expr(mapping)} AS _reason FROM t)
        SELECT CASE WHEN {ok} THEN coalesce(v.event_id, {content_hash}) END,
               v._ts AT TIME ZONE 'UTC', timezone({zone}, v._ts),
               v.user_id, v.org_id, v.record_id, v._action, v._outcome, v.source_ip, v.auth_method,
               CASE WHEN {ok} THEN v.purpose ELSE v._reason END,
               CASE WHEN {ok} THEN v.session_id ELSE {raw} END,
               v._rr, v._bg, $path, {row}, $at, $batch, v.source_action, v.target
        FROM v"""


@dataclass
class Appended:
    """One events file appended in this run: its report (duplicates not yet counted) and the rowids its
    events hold, `first` to `last` (none when `first` is None)."""

    report: FileReport
    first: int | None = None
    last: int | None = None


def ingest_event_source(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    batch_id: str,
    ingested_at: datetime,
    mapping: ColumnMapping = IDENTITY,
    limits: EventLimits = DEFAULT_LIMITS,
) -> Appended:
    """Append one events source, numbered, its failed rows quarantined; the caller owns the transaction
    and must call `settle_duplicates` on the run's files before it commits."""
    try:
        appended = _ingest(con, source, batch_id, ingested_at, mapping, limits)
    finally:
        drop_temp(con, source)
    if appended is not None:
        return appended
    # The CSV parser lost its footing (a stray quote swallowed the lines after it): read the file again
    # line by line, so only the broken row is quarantined and every other one is numbered right.
    assert source.fallback is not None
    lines = source.fallback(con)
    try:
        again = _ingest(con, lines, batch_id, ingested_at, mapping, limits)
    finally:
        drop_temp(con, lines)
    assert again is not None
    return again


def _ingest(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    batch_id: str,
    ingested_at: datetime,
    mapping: ColumnMapping,
    limits: EventLimits,
) -> Appended | None:
    """Append `source`; None (and nothing appended) when a CSV file needs its line-by-line reading."""
    path = str(source.path)
    zones = _own_zones(con)
    earliest, latest = limits.bounds(ingested_at)
    params = {"path": source.display, "at": ingested_at, "batch": batch_id, "not_before": earliest,
              "not_after": latest}
    sql = _append_sql(source, mapping, _zone_expr(zones))
    ordinal = "rowid - {first} + 1"  # parsed row k of a CSV file, from its rowid
    if source.fmt == "csv" and source.ordinal_sql and not keeps_file_order(con, sql, params):
        # Safety net: should a plan ever lose file order, let the scan count the rows instead.
        sql = _append_sql(replace(source, sql=source.ordinal_sql), mapping, _zone_expr(zones), row="v._k")
        ordinal = "source_row"
    created = create_staged(con, sql, source.path, params)
    parsed = int(created[0]) if created is not None else 0
    first = last = None
    if parsed:
        last = int(fetch_value(con, "SELECT max(rowid) FROM events"))
        first = last - parsed + 1
    if source.rejects_table and source.fallback is not None and swallowed_lines(con, source.rejects_table):
        if first is not None:
            con.execute(f"DELETE FROM events WHERE rowid >= {first}")
        return None
    rejected = 0
    if source.rejects_table:
        rejected = int(fetch_value(con, f"SELECT count(DISTINCT line) FROM {source.rejects_table} WHERE {NOT_BLANK}"))
        if rejected:
            quarantine_rejects(con, source.rejects_table, batch_id, source.display, "events", ingested_at)
    invalid = 0
    if first is not None:
        new = f"rowid >= {first}"
        if len(zones) > _ZONE_CASE_LIMIT:
            _fix_local_times(con, first)
        if source.fmt == "csv":
            _number_csv_rows(con, first, ordinal.format(first=first), source.rejects_table, source.blank_lines)
        invalid = int(fetch_value(con, f"SELECT count(*) FROM events WHERE {new} AND event_id IS NULL"))
        if invalid:
            con.execute(
                f"""INSERT INTO quarantine
                SELECT ?, ?, source_row, 'events', purpose, session_id, ? FROM events
                WHERE {new} AND event_id IS NULL ORDER BY rowid""",
                [batch_id, source.display, ingested_at],
            )
            con.execute(f"DELETE FROM events WHERE {new} AND event_id IS NULL")
    report = FileReport(
        path=source.display, kind="events", read=parsed + rejected, stored=parsed - invalid,
        quarantined=invalid + rejected,
    )
    del path
    return Appended(report, first, last)


def keeps_file_order(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> bool:
    """Whether DuckDB runs this append as an order-preserving batch insert (planning only, no data read)."""
    try:
        plan = " ".join(str(r[-1]) for r in con.execute("EXPLAIN " + sql, params).fetchall()).lower()
    except duckdb.Error:
        return True  # the append itself will fail the same way, with the error named for the user
    return "batch insert" in plan or "batch_insert" in plan


def _number_csv_rows(
    con: duckdb.DuckDBPyConnection, first: int, ordinal: str, rejects_table: str | None, blank_lines: list[int]
) -> None:
    """Give a CSV file's new events their file row numbers (header = row 1); `ordinal` is SQL for a
    row's place among the parsed rows (1-based).

    The CSV parser drops the lines it rejects and the empty lines it skips, so parsed row k sits after
    every such line r_i with r_i - i <= k (i counted from 1); an ASOF join against that small table adds
    them back.
    """
    skipped = []
    if rejects_table is not None:
        skipped.append(f"SELECT DISTINCT line FROM {rejects_table}")
    if blank_lines:
        skipped.append("SELECT unnest($blank::BIGINT[]) AS line")
    if not skipped:
        con.execute(f"UPDATE events SET source_row = {ordinal} + 1 WHERE rowid >= {first}")
        return
    con.execute(
        f"""UPDATE events SET source_row = x.row FROM (
            SELECT n.r, n.k + 1 + coalesce(s.shift, 0) AS row
            FROM (SELECT rowid AS r, {ordinal} AS k FROM events WHERE rowid >= {first}) n
            ASOF LEFT JOIN (
                SELECT threshold, max(shift) AS shift FROM (
                    SELECT line - row_number() OVER (ORDER BY line) AS threshold,
                           row_number() OVER (ORDER BY line) AS shift
                    FROM ({" UNION ".join(skipped)})) GROUP BY threshold
            ) s ON n.k >= s.threshold
        ) x WHERE events.rowid = x.r""",
        {"blank": blank_lines} if blank_lines else None,
    )


# The identity of a stored event: its id and what it says happened. A producer that reuses an id for
# other events (other times, users or records) loses none of them; the same event delivered twice is
# stored once.
IDENTITY_COLUMNS = ("event_id", "timestamp", "user_id", "org_id", "record_id", "action", "outcome", "source_action")


def settle_duplicates(con: duckdb.DuckDBPyConnection, appended: list[Appended]) -> None:
    """Delete this run's events that repeat an event stored before the run, or an earlier row of the run
    (the first in file order stays), and count them in each file's report; count the events whose id an
    earlier, different event already carries (id collisions: both are kept).

    An event is a duplicate when its id and content match (IDENTITY_COLUMNS, the time as the UTC
    instant). Once per run rather than per file, so a run pays one pass over the store, not one per
    file. Identities are compared as 64-bit hashes first (an integer group-by and join cost far less
    than string ones), then only the few candidates exactly, so a hash collision never drops an event.
    """
    spans = [(i, a.first, a.last) for i, a in enumerate(appended) if a.first is not None]
    if not spans:
        return
    start = min(first for _i, first, _last in spans)  # the run's appends hold every rowid from here on
    ranges = ", ".join(f"({i}, {first}, {last})" for i, first, last in spans)
    key = "hash(" + ", ".join(f'"{c}"' for c in IDENTITY_COLUMNS) + ")"
    same = " AND ".join(f'older."{c}" IS NOT DISTINCT FROM c."{c}"' for c in IDENTITY_COLUMNS)
    # A duplicate has the same instant, so only stored events within the run's time span can be one: a
    # day's scan then hashes that day's stored events, not the whole store. (Every stored event has a
    # time: a row without one is quarantined.) An id collision can be at any time: ids alone are hashed.
    # Likewise an id collision needs an equal id, so only stored ids within the run's range of ids can be one:
    # where a producer's ids grow with time (sequence numbers, time-ordered ids), the store's zone maps skip
    # nearly every row group and the check costs what is new, not what is stored; random ids cost a full pass.
    bounds = con.execute('SELECT min("timestamp"), max("timestamp"), min(event_id), max(event_id) FROM events '
                         f"WHERE rowid >= {start}").fetchone()
    lo, hi, id_lo, id_hi = bounds if bounds is not None else (None, None, None, None)
    in_span = ('"timestamp" BETWEEN $lo AND $hi', {"lo": lo, "hi": hi}) if lo is not None else ("false", None)
    in_ids = ("event_id BETWEEN $lo AND $hi", {"lo": id_lo, "hi": id_hi}) if id_lo is not None else ("false", None)
    try:
        for what, hashed, match, (older, params) in (("dup", key, same, in_span),
                                                     ("ids", "hash(event_id)", "older.event_id = c.event_id", in_ids)):
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _{what}_h AS
                WITH hb AS (SELECT {hashed} AS h FROM events WHERE rowid >= {start})
                SELECT h FROM hb GROUP BY h HAVING count(*) > 1
                UNION
                SELECT h FROM hb SEMI JOIN (SELECT {hashed} AS h FROM events WHERE rowid < {start} AND {older}) o
                USING (h)""",
                params,
            )
            if not fetch_value(con, f"SELECT count(*) FROM _{what}_h"):
                continue
            cols = ", ".join(f'"{c}"' for c in IDENTITY_COLUMNS)
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _{what} AS
                WITH c AS (SELECT rowid AS r, {cols} FROM events
                           WHERE (rowid >= {start} OR {older}) AND {hashed} IN (SELECT h FROM _{what}_h))
                SELECT c.r FROM c WHERE c.r >= {start}
                  AND EXISTS (SELECT 1 FROM c older WHERE {match} AND older.r < c.r)""",
                params,
            )
            counts = con.execute(
                f"""SELECT f.i, count(*) FROM _{what} JOIN (VALUES {ranges}) f(i, lo, hi) ON _{what}.r BETWEEN f.lo AND f.hi
                GROUP BY f.i"""
            ).fetchall()
            for i, n in counts:
                rep = appended[int(i)].report
                if what == "dup":
                    rep.duplicates, rep.stored = int(n), rep.stored - int(n)
                else:
                    rep.id_collisions = int(n)
            if what == "dup":
                con.execute("DELETE FROM events WHERE rowid IN (SELECT r FROM _dup)")
    finally:
        for t in ("_dup_h", "_dup", "_ids_h", "_ids"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
