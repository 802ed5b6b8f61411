"""Turn one input file into a SQL source of canonical string fields, whatever its format.

Every source yields the same columns: `_k` (order in the file), `_row` (row number when the reader
knows it exactly, else NULL — CSV rows are numbered after the scan, from the order-preserving append
that stores them: see `audit_kit.ingest.events`),
`_error` (a reader-level reason: malformed JSON, an unmappable record), `_raw` (the record's text, for
quarantine) and one VARCHAR column per requested canonical field. Validation happens once, later,
whatever the source.
"""

from __future__ import annotations

import csv
import gzip
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from audit_kit.errors import InputError
from audit_kit.ingest.mapping import IDENTITY, ColumnMapping
from audit_kit.store.sql import fetch_value

CSV_SUFFIXES = (".csv", ".tsv")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
PARQUET_SUFFIXES = (".parquet", ".pq")


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def base_suffix(path: Path) -> str:
    """The format suffix, looking through .gz: 'events.csv.gz' -> '.csv'."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def file_format(path: Path) -> str | None:
    """'csv', 'jsonl' or 'parquet' from the file name, or None if audit-kit cannot read it."""
    suffix = base_suffix(path)
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    return None


@dataclass
class Source:
    """A staged file: the SQL to select from, and temp objects to drop afterwards."""

    sql: str
    path: Path
    fmt: str
    rejects_table: str | None = None  # CSV rows the parser rejected (line, csv_line, error_message)
    temp_objects: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)  # Arrow tables registered as views
    shielded_records: list[str] = field(default_factory=list)  # record ids the source labelled restricted
    raw_expr: str | None = None  # SQL over `sql`'s columns giving `_raw`, to compute it only where needed
    ordinal_sql: str | None = None  # `sql` with `_k` counted by the scan (CSV: when file order is not kept)

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        for obj in self.temp_objects:
            con.execute(f"DROP TABLE IF EXISTS {obj}")
        for name in self.registered:
            con.unregister(name)


def _tag() -> str:
    return "_s" + secrets.token_hex(4)


def _select_fields(
    fields: Sequence[str], mapping: ColumnMapping, column: Callable[[str], str | None]
) -> str:
    """The SELECT list of canonical string fields, the same for every reader: the source's value
    (`column(field)` gives its SQL, None when the source has no such field), else the mapping's
    constant for the field, then the mapping's value map."""
    out = []
    for f in fields:
        expr = column(f) or "CAST(NULL AS VARCHAR)"
        if f in mapping.constants:
            expr = f"coalesce({expr}, {lit(mapping.constants[f])})"
        out.append(f"{_value_map(expr, mapping.values.get(f))} AS {ident(f)}")
    return ", ".join(out)


def _value_map(expr: str, values: dict[str, str] | None) -> str:
    if not values:
        return expr
    cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in values.items())
    return f"(CASE trim({expr}) {cases} ELSE {expr} END)"


def csv_dialect(path: Path, header: list[str], mapping: ColumnMapping = IDENTITY) -> str:
    """read_csv options fixing the dialect and columns: a sniffer guessing from sample rows is fooled
    by the very malformed rows we must quarantine. Delimiter by extension (.tsv tab, else comma)."""
    delim = mapping.delimiter or ("\t" if base_suffix(path) == ".tsv" else ",")
    columns = "{" + ", ".join(f"{lit(h)}: 'VARCHAR'" for h in header) + "}"
    return f"delim={lit(delim)}, quote='\"', escape='\"', header=true, auto_detect=false, columns={columns}"


def csv_header(path: Path, mapping: ColumnMapping = IDENTITY) -> list[str]:
    """Column names from a CSV file's first line (gzip aware)."""
    delim = mapping.delimiter or ("\t" if base_suffix(path) == ".tsv" else ",")
    head = sniff_head(path, 1 << 16)
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: the header line is not UTF-8 text") from None
    header = [c.strip() for c in next(csv.reader([text], delimiter=delim), [])]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InputError(f"{path}: row 1: the header repeats column(s) {', '.join(dupes)}")
    return header


def csv_source(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fields: Sequence[str],
    required: Sequence[str],
    mapping: ColumnMapping = IDENTITY,
) -> Source:
    """Stage a CSV file. Missing required columns are a file-level InputError naming them."""
    header = csv_header(path, mapping)
    present = {h.strip(): h for h in header}
    missing = [f for f in required if mapping.source_for(f) not in present and f not in mapping.constants]
    if missing:
        want = ", ".join(
            f"{f}" + (f" (mapped from {mapping.source_for(f)})" if f in mapping.columns else "")
            for f in missing
        )
        raise InputError(
            f"{path}: missing required column(s) {want}; the header has: {', '.join(header) or '(nothing)'}",
            hint="rename the columns, or pass --mapping FILE to say which source column is which",
        )
    tag = _tag()
    def column(f: str) -> str | None:
        src = mapping.source_for(f)
        return f"nullif(trim({ident(present[src])}), '')" if src in present else None

    select = _select_fields(fields, mapping, column)
    raw = "concat_ws(',', " + ", ".join(f"coalesce({ident(h)}, '')" for h in header) + ")"
    # The source columns pass through as _c0, _c1, … so a caller can build the raw text only for the
    # rows it quarantines (`Source.raw_expr`): joining every row's cells costs as much as a column scan.
    passthrough = "".join(f", {ident(h)} AS _c{i}" for i, h in enumerate(header))
    raw_expr = "concat_ws(',', " + ", ".join(f"coalesce(_c{i}, '')" for i in range(len(header))) + ")"
    sql = (
        # _k (file order) is left NULL here: a window over the scan would serialise the parallel CSV
        # reader, and the rowids of an order-preserving append already follow file order (see
        # audit_kit.ingest.events; `ordinal_sql` below is the exact, one-thread alternative).
        f"SELECT CAST(NULL AS BIGINT) AS _k, CAST(NULL AS BIGINT) AS _row, CAST(NULL AS VARCHAR) AS _error, "
        f"{raw} AS _raw, {select}{passthrough} "
        f"FROM read_csv({lit(str(path))}, {csv_dialect(path, header, mapping)}, store_rejects=true, "
        f"rejects_table={lit(tag + '_rej')}, rejects_scan={lit(tag + '_scan')}, max_line_size=1048576)"
    )
    return Source(
        sql=sql, path=path, fmt="csv", rejects_table=tag + "_rej", temp_objects=[tag + "_rej", tag + "_scan"],
        raw_expr=raw_expr,
        # The same rows numbered by the scan itself: exact whatever the plan, but read on one thread.
        ordinal_sql=sql.replace("CAST(NULL AS BIGINT) AS _k", "row_number() OVER () AS _k", 1),
    )


def _json_path(src: str) -> str:
    parts = src.split(".")
    return "$" + "".join(f'."{p}"' if not p.isidentifier() else f".{p}" for p in parts)


_LINE_BATCH = 100_000


def _load_lines(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """Load a text file's lines exactly as written into `table` (_n line number, line, _enc problem).

    Lines are split on newline only (a trailing CR is dropped), so no character inside a line can
    cut it short, and a line that is not UTF-8 is kept (decoded with replacement) and flagged.
    """
    import pyarrow as pa

    con.execute(f"CREATE TEMP TABLE {table} (_n BIGINT, line VARCHAR, _enc VARCHAR)")
    numbers: list[int] = []
    texts: list[str] = []
    problems: list[str | None] = []

    def flush() -> None:
        if not numbers:
            return
        batch = pa.table({"_n": pa.array(numbers, pa.int64()), "line": pa.array(texts, pa.string()),
                          "_enc": pa.array(problems, pa.string())})
        con.register(table + "_b", batch)
        con.execute(f"INSERT INTO {table} SELECT * FROM {table}_b")
        con.unregister(table + "_b")
        numbers.clear()
        texts.clear()
        problems.clear()

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            for n, raw in enumerate(fh, 1):
                raw = raw.rstrip(b"\n").rstrip(b"\r")
                try:
                    text, problem = raw.decode("utf-8"), None
                except UnicodeDecodeError as exc:
                    text, problem = raw.decode("utf-8", "replace"), f"not UTF-8 text (byte {exc.start + 1})"
                numbers.append(n)
                texts.append(text)
                problems.append(problem)
                if len(numbers) >= _LINE_BATCH:
                    flush()
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    flush()


def jsonl_source(
    con: duckdb.DuckDBPyConnection, path: Path, fields: Sequence[str], mapping: ColumnMapping = IDENTITY
) -> Source:
    """Stage a JSON-lines file: each non-blank line one object; a bad line is a row with `_error`."""
    tag = _tag()
    _load_lines(con, path, tag + "_lines")
    select = _select_fields(
        fields, mapping,
        lambda f: f"nullif(trim(json_extract_string(doc, {lit(_json_path(mapping.source_for(f)))})), '')",
    )
    sql = (
        "WITH j AS (SELECT _n, line, _enc, CASE WHEN _enc IS NULL AND json_valid(line) "
        "AND left(ltrim(line), 1) = '{' THEN line::JSON END AS doc "
        f"FROM {tag}_lines "
        # A blank line (spaces, tabs, CR, VT, FF only) is not a record; anything else is read or quarantined.
        "WHERE trim(line, chr(32) || chr(9) || chr(13) || chr(11) || chr(12)) <> '') "
        "SELECT _n AS _k, _n AS _row, "
        "coalesce(_enc, CASE WHEN doc IS NULL THEN 'not a JSON object' END) AS _error, "
        "left(line, 2000) AS _raw, " + select + " FROM j"
    )
    return Source(sql=sql, path=path, fmt="jsonl", temp_objects=[tag + "_lines"])


def parquet_source(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fields: Sequence[str],
    required: Sequence[str],
    mapping: ColumnMapping = IDENTITY,
) -> Source:
    """Stage a Parquet file; typed timestamps become ISO strings in UTC."""
    try:
        schema = con.execute(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet({lit(str(path))}))"
        ).fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{path}: not a readable Parquet file: {str(exc).splitlines()[0]}") from None
    types = dict(schema)
    missing = [f for f in required if mapping.source_for(f) not in types and f not in mapping.constants]
    if missing:
        raise InputError(
            f"{path}: missing required column(s) {', '.join(missing)}; it has: {', '.join(types)}"
        )
    def column(f: str) -> str | None:
        src = mapping.source_for(f)
        if src not in types:
            return None
        t, col = types[src].upper(), ident(src)
        if t.startswith("TIMESTAMP WITH TIME ZONE"):
            return f"strftime({col} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ')"
        if t.startswith("TIMESTAMP"):  # Parquet timestamps are UTC-adjusted by convention
            return f"strftime({col}, '%Y-%m-%dT%H:%M:%S.%fZ')"
        return f"nullif(trim(CAST({col} AS VARCHAR)), '')"

    select = _select_fields(fields, mapping, column)

    def raw_of(cols: list[str]) -> str:
        pairs = ", ".join(f"{ident(name)} := {c}" for name, c in zip(types, cols, strict=True))
        return f"left(CAST(struct_pack({pairs}) AS VARCHAR), 2000)"

    # As for CSV, the source columns pass through (_c0, _c1, …) so the raw text is built only for the
    # rows that are quarantined (`Source.raw_expr`).
    passthrough = "".join(f", {ident(c)} AS _c{i}" for i, c in enumerate(types))
    sql = (
        f"SELECT file_row_number + 1 AS _k, file_row_number + 1 AS _row, CAST(NULL AS VARCHAR) AS _error, "
        f"{raw_of([ident(c) for c in types])} AS _raw, {select}{passthrough} "
        f"FROM read_parquet({lit(str(path))}, file_row_number=true)"
    )
    return Source(sql=sql, path=path, fmt="parquet", raw_expr=raw_of([f"_c{i}" for i in range(len(types))]))


def arrow_source(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: object,
    fields: Sequence[str],
    mapping: ColumnMapping = IDENTITY,
    shielded_records: Sequence[str] = (),
) -> Source:
    """Stage rows a format preset already mapped (columns _row, _raw, _error and canonical fields).

    A mapping file still applies its `values` and `constants` (e.g. cloud account id -> org_id).
    """
    tag = _tag()
    con.register(tag, table)
    cols = set(getattr(table, "column_names", []))
    select = _select_fields(
        fields, mapping, lambda f: f"nullif(trim({ident(f)}::VARCHAR), '')" if f in cols else None
    )
    sql = (
        f"SELECT _row::BIGINT AS _k, _row::BIGINT AS _row, _error::VARCHAR AS _error, _raw::VARCHAR AS _raw, "
        f"{select} FROM {tag}"
    )
    return Source(sql=sql, path=path, fmt="preset", registered=[tag], shielded_records=list(shielded_records))


def sniff_head(path: Path, n: int = 4096) -> bytes:
    """The first bytes of a file, decompressed if it is gzip."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None


def numbered(con: duckdb.DuckDBPyConnection, tag: str, rejects_table: str | None) -> tuple[str, str, int]:
    """FROM clause and row-number expression for staged table `tag`, plus the count of rejected lines.

    The CSV parser drops the lines it rejects, so parsed row k sits after every rejected line r_i
    with r_i - i <= k (i counted from 1); an ASOF join against that small table restores the file's
    row numbers (header = row 1). Sources that know their rows (`_row`) keep them.
    """
    rejected = 0
    if rejects_table:
        rejected = fetch_value(con, f"SELECT count(DISTINCT line) FROM {rejects_table}")
    if not rejected:
        return f"{tag} n", "coalesce(n._row, n._k + 1)", 0
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {tag}_shift AS
        SELECT threshold, max(shift) AS shift FROM (
            SELECT line - row_number() OVER (ORDER BY line) AS threshold, row_number() OVER (ORDER BY line) AS shift
            FROM (SELECT DISTINCT line FROM {rejects_table})) GROUP BY threshold"""
    )
    return (
        f"{tag} n ASOF LEFT JOIN {tag}_shift s ON n._k >= s.threshold",
        "coalesce(n._row, n._k + 1 + coalesce(s.shift, 0))",
        rejected,
    )


def quarantine_rejects(
    con: duckdb.DuckDBPyConnection,
    rejects_table: str | None,
    batch_id: str,
    path: Path,
    kind: str,
    at: object,
) -> None:
    """Copy the CSV parser's rejected lines into the quarantine, one row per line with its first error."""
    if not rejects_table:
        return
    con.execute(
        f"""INSERT INTO quarantine
        SELECT ?, ?, line, ?, 'malformed CSV row: ' || first(error_message ORDER BY column_idx),
               first(csv_line), ?
        FROM {rejects_table} GROUP BY line""",
        [batch_id, str(path), kind, at],
    )


def drop_temp(con: duckdb.DuckDBPyConnection, source: Source, *tables: str) -> None:
    """Drop a file's temporary tables. After a failed statement the transaction is aborted and
    rolls them back anyway, so errors here are not worth masking the original one."""
    try:
        for t in tables:
            con.execute(f"DROP TABLE IF EXISTS {t}")
        source.drop(con)
    except duckdb.Error:
        pass


def create_staged(
    con: duckdb.DuckDBPyConnection, sql: str, path: Path, params: dict[str, object] | None = None
) -> tuple[Any, ...] | None:
    """Run the statement that reads a file and return its first result row (an INSERT's row count);
    a file the parser cannot read at all is one InputError naming it (nothing is stored), while
    row-level problems are quarantined by the caller."""
    try:
        rows = con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()
        return rows[0] if rows else None
    except duckdb.InvalidInputException as exc:
        lines = str(exc).splitlines()
        where = next((ln.strip() for ln in lines if ln.strip().lower().startswith("line")), "")
        reason = lines[0].replace("Invalid Input Error: ", "")
        raise InputError(
            f"{path}: cannot be parsed: {reason}" + (f" ({where})" if where else ""),
            hint="check the file's line endings, quoting and encoding (UTF-8)",
        ) from None
