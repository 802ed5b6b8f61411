"""Load the reference tables (organisations, users, subjects, involvements) with the same guarantees
as events: every row stored, counted as a duplicate, or quarantined with a reason."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import duckdb

from audit_kit.ingest.mapping import IDENTITY, ColumnMapping
from audit_kit.ingest.models import FileReport
from audit_kit.ingest.sources import (
    Source,
    create_staged,
    csv_source,
    display_path,
    drop_temp,
    ident,
    lit,
    numbered,
    quarantine_rejects,
    swallowed_lines,
)
from audit_kit.schema import ORG_TYPES, Table
from audit_kit.store.sql import fetch_one, fetch_value

_TRUE = "('true', 't', '1', 'yes', 'y')"
_FALSE = "('false', 'f', '0', 'no', 'n')"
_HOURS_RE = r"^([01]\d|2[0-4]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$"


def _typed(col: str, sql_type: str) -> str:
    c = ident(col)
    if sql_type == "BOOLEAN":
        return f"CASE WHEN lower({c}) IN {_TRUE} THEN true WHEN lower({c}) IN {_FALSE} THEN false END"
    if sql_type == "VARCHAR":
        return c
    return f"try_cast({c} AS {sql_type})"


def _checks(table: Table) -> list[str]:
    checks = []
    for col in table.columns:
        c = ident(col.name)
        if col.required:
            checks.append(f"CASE WHEN {c} IS NULL THEN '{col.name} is missing' END")
        if col.type != "VARCHAR":
            expected = {
                "DATE": "a date (YYYY-MM-DD)",
                "BOOLEAN": "true or false",
                "INTEGER": "a whole number",
            }
            checks.append(
                f"CASE WHEN {c} IS NOT NULL AND ({_typed(col.name, col.type)}) IS NULL "
                f"THEN '{col.name} \"' || left({c}, 60) || '\" is not {expected.get(col.type, col.type)}' END"
            )
    if table.name == "organisations":
        # A type word that is not built in is stored as given and reported (ingest warnings), never a
        # reason to drop a body: registers use their own vocabularies (see `types:` in a mapping file).
        checks.append(
            "CASE WHEN timezone IS NOT NULL AND timezone NOT IN (SELECT name FROM pg_timezone_names()) "
            "THEN 'timezone \"' || left(timezone, 60) || '\" is not an IANA time zone such as Europe/London' END"
        )
        checks.append(
            f"CASE WHEN working_hours IS NOT NULL AND NOT regexp_matches(working_hours, {lit(_HOURS_RE)}) "
            "THEN 'working_hours \"' || left(working_hours, 60) || '\" is not HH:MM-HH:MM' END"
        )
    if table.name in ("users", "involvements"):
        checks.append(
            "CASE WHEN try_cast(end_date AS DATE) < try_cast(start_date AS DATE) "
            "THEN 'end_date is before start_date' END"
        )
    return checks


def _word_map(expr: str, table: dict[str, str]) -> str:
    """SQL mapping `expr` through a word table, matching case-insensitively and ignoring outer spaces."""
    if not table:
        return expr
    cases = " ".join(f"WHEN {lit(k.strip().lower())} THEN {lit(v)}" for k, v in table.items())
    return f"(CASE lower(trim({expr})) {cases} ELSE {expr} END)"


def _type_expr(mapping: ColumnMapping) -> str:
    """An organisation's type: the owner's word through `types:`, then a built-in word when it is one
    ("Local Authority" -> local_authority), else as given."""
    mapped = _word_map("type", mapping.types)
    norm = f"replace(lower(trim({mapped})), ' ', '_')"
    known = ", ".join(lit(t) for t in ORG_TYPES)
    return f"CASE WHEN {norm} IN ({known}) THEN {norm} ELSE trim({mapped}) END"


def ingest_reference_file(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    path: Path,
    batch_id: str,
    ingested_at: datetime,
    mapping: ColumnMapping = IDENTITY,
) -> FileReport:
    """Upsert one reference CSV by the table's key; the caller owns the transaction. The mapping's
    `types` and `roles` translate the owner's words (organisation types, user and involvement roles)."""
    source = csv_source(con, path, table.names, table.required)
    tag = "_r" + re.sub(r"\W", "", batch_id)[-8:] + table.name
    typed = []
    for col in table.columns:
        expr = _typed(col.name, col.type)
        if table.name == "organisations" and col.name == "type":
            expr = "_type"
        if col.name == "role" and mapping.roles:
            expr = _word_map(ident("role"), mapping.roles)
        typed.append(f"{expr} AS {ident(col.name)}")
    key_cols = ", ".join(ident(k) for k in table.key)
    content = (
        "md5(concat_ws(chr(31), "
        + ", ".join(f"coalesce(CAST({ident(c)} AS VARCHAR), chr(0))" for c in table.names)
        + "))"
    )
    type_norm = f", {_type_expr(mapping)} AS _type" if table.name == "organisations" else ""
    try:
        staged_sql = f"""CREATE TEMP TABLE {tag} AS
            WITH s AS (SELECT * REPLACE (row_number() OVER () AS _k) FROM (@SOURCE@)),
            p AS (SELECT *{type_norm} FROM s),
            v AS (SELECT _k, _row, _raw, concat_ws('; ', {", ".join(_checks(table))}) AS _reason,
                         {", ".join(typed)} FROM p)
            SELECT *, {content} AS _content,
                   row_number() OVER (PARTITION BY {key_cols} ORDER BY _k) AS _nth,
                   first(_k) OVER (PARTITION BY {key_cols} ORDER BY _k) AS _first_k,
                   first({content}) OVER (PARTITION BY {key_cols} ORDER BY _k) AS _first_content
            FROM v"""
        create_staged(con, staged_sql.replace("@SOURCE@", source.sql), path)
        if source.rejects_table and source.fallback is not None and swallowed_lines(con, source.rejects_table):
            # A stray quote swallowed the rows after it: read the file line by line instead.
            con.execute(f"DROP TABLE IF EXISTS {tag}")
            drop_temp(con, source)
            source = source.fallback(con)
            create_staged(con, staged_sql.replace("@SOURCE@", source.sql), path)
        report = _upsert(con, table, tag, source, path, batch_id, ingested_at, key_cols)
        if table.name == "organisations":
            report.warnings.extend(_unknown_types(con, tag, path))
        return report
    finally:
        drop_temp(con, source, tag, f"{tag}_shift")


def _unknown_types(con: duckdb.DuckDBPyConnection, tag: str, path: Path) -> list[str]:
    """A warning naming the organisation types (with counts) that are not built-in words."""
    known = ", ".join(lit(t) for t in ORG_TYPES)
    rows = con.execute(
        f"""SELECT type, count(*) FROM {tag} WHERE _reason = '' AND _nth = 1 AND type IS NOT NULL
            AND type NOT IN ({known}) GROUP BY type ORDER BY count(*) DESC, type"""
    ).fetchall()
    if not rows:
        return []
    words = ", ".join(f"{t!r} ({n})" for t, n in rows[:10]) + (" …" if len(rows) > 10 else "")
    return [
        f"{display_path(path)}: {sum(int(n) for _t, n in rows)} organisation(s) have a type that is not one of "
        f"{', '.join(ORG_TYPES)}: {words}. They are stored with the type as given and assessed like every "
        "body; to treat them as a built-in type (configuration, peer groups), map the words with "
        "`types:` in a --mapping file (e.g. types: {police: police_force})."
    ]


def _upsert(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    tag: str,
    source: Source,
    path: Path,
    batch_id: str,
    ingested_at: datetime,
    key_cols: str,
) -> FileReport:
    where_ok = "_reason = ''"
    # A later row repeating a key with different values is a conflict, not a silent overwrite.
    con.execute(
        f"""UPDATE {tag} SET _reason = 'repeats the key ({", ".join(table.key)}) of row ' || (_first_k + 1)
            || ' with different values'
            WHERE {where_ok} AND _nth > 1 AND _content <> _first_content"""
    )
    rejects = source.rejects_table
    frm, row, rejected = numbered(con, tag, rejects, source.blank_lines)
    if rejected:
        quarantine_rejects(con, rejects, batch_id, path, table.name, ingested_at)
    con.execute(
        f"INSERT INTO quarantine SELECT ?, ?, {row}, ?, n._reason, n._raw, ? FROM {frm} WHERE n._reason <> ''",
        [batch_id, display_path(path), table.name, ingested_at],
    )
    counted = fetch_one(con, f"SELECT count(*), count(*) FILTER (WHERE _reason <> '') FROM {tag}")
    parsed, invalid = counted if counted is not None else (0, 0)
    cols = ", ".join(ident(c) for c in table.names)
    existing_content = (
        "md5(concat_ws(chr(31), "
        + ", ".join(f"coalesce(CAST(t.{ident(c)} AS VARCHAR), chr(0))" for c in table.names)
        + "))"
    )
    join = " AND ".join(f"t.{ident(k)} IS NOT DISTINCT FROM n.{ident(k)}" for k in table.key)
    fresh = f"SELECT * FROM {tag} n WHERE n._reason = '' AND n._nth = 1"
    unchanged = fetch_value(
        con,
        f"SELECT count(*) FROM ({fresh}) n JOIN {ident(table.name)} t ON {join} "
        f"WHERE {existing_content} = n._content",
    )
    con.execute(f"DELETE FROM {ident(table.name)} t WHERE EXISTS (SELECT 1 FROM ({fresh}) n WHERE {join})")
    con.execute(f"INSERT INTO {ident(table.name)} ({cols}) SELECT {cols} FROM ({fresh})")
    valid = parsed - invalid
    stored = fetch_value(con, f"SELECT count(*) FROM ({fresh})") - unchanged
    return FileReport(
        path=display_path(path),
        kind=table.name,
        read=parsed + rejected,
        stored=stored,
        quarantined=invalid + rejected,
        duplicates=valid - stored,
    )
