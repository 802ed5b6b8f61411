"""Turn one input file into a SQL source of canonical string fields, whatever its format.

Every source yields the same columns: `_k` (order in the file), `_row` (row number when the reader
knows it exactly, else NULL — CSV rows are numbered after the scan, from the order-preserving append
that stores them: see `audit_kit.ingest.events`),
`_error` (a reader-level reason: malformed JSON, an unmappable record), `_raw` (the record's text, for
quarantine) and one VARCHAR column per requested canonical field. Validation happens once, later,
whatever the source.

(Why this module runs past 400 lines: one reader per input shape (CSV with its line-by-line recovery, JSON
lines, JSON documents, Parquet, gzip, the audit-format presets) sharing one output contract; splitting them
apart would scatter the contract they must all keep.)
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import secrets
import tempfile
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
XML_SUFFIXES = (".xml",)


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


def display_path(path: Path | str) -> str:
    """A path as text that can always be printed and stored: bytes of a file name that are not UTF-8
    (kept by Python as surrogate escapes) are shown as \\xNN."""
    text = str(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")


def engine_path(path: Path) -> tuple[str, str | None]:
    """A name DuckDB can open for `path`, and a temporary folder to remove afterwards (None if none was
    needed). DuckDB takes file names as UTF-8 text; a name that is not UTF-8 is reached through a
    symbolic link with a plain name instead of refusing the file (or the dataset)."""
    text = str(path)
    try:
        text.encode("utf-8")
        return text, None
    except UnicodeEncodeError:
        pass
    folder = tempfile.mkdtemp(prefix="audit-kit-name-")
    link = os.path.join(folder, "input" + "".join(s for s in path.suffixes if s.isascii())[-16:])
    os.symlink(os.path.abspath(os.fsencode(text)), os.fsencode(link))
    return link, folder


def file_format(path: Path) -> str | None:
    """'csv', 'jsonl', 'parquet' or 'xml' (FHIR) from the file name, or None if audit-kit cannot read it."""
    suffix = base_suffix(path)
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in XML_SUFFIXES:
        return "xml"
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
    blank_lines: list[int] = field(default_factory=list)  # CSV: empty lines the parser skips (for numbering)
    # CSV: the same file read line by line, for when the parser loses its footing (see `swallowed_lines`)
    fallback: Callable[[duckdb.DuckDBPyConnection], Source] | None = None
    temp_dirs: list[str] = field(default_factory=list)

    @property
    def display(self) -> str:
        """The file's name as stored and reported."""
        return display_path(self.path)

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        for obj in self.temp_objects:
            con.execute(f"DROP TABLE IF EXISTS {obj}")
        for name in self.registered:
            con.unregister(name)
        for folder in self.temp_dirs:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)


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
        raise InputError(f"{display_path(path)}: the header line is not UTF-8 text") from None
    header = [c.strip() for c in next(csv.reader([text], delimiter=delim), [])]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InputError(f"{display_path(path)}: row 1: the header repeats column(s) {', '.join(dupes)}")
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
            f"{display_path(path)}: missing required column(s) {want}; the header has: {', '.join(header) or '(nothing)'}",
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
    name, folder = engine_path(path)
    sql = (
        # _k (file order) is left NULL here: a window over the scan would serialise the parallel CSV
        # reader, and the rowids of an order-preserving append already follow file order (see
        # audit_kit.ingest.events; `ordinal_sql` below is the exact, one-thread alternative).
        f"SELECT CAST(NULL AS BIGINT) AS _k, CAST(NULL AS BIGINT) AS _row, CAST(NULL AS VARCHAR) AS _error, "
        f"{raw} AS _raw, {select}{passthrough} "
        f"FROM read_csv({lit(name)}, {csv_dialect(path, header, mapping)}, store_rejects=true, "
        f"rejects_table={lit(tag + '_rej')}, rejects_scan={lit(tag + '_scan')}, max_line_size=1048576)"
    )

    def by_lines(con: duckdb.DuckDBPyConnection) -> Source:
        return csv_lines_source(con, path, header, fields, mapping)

    return Source(
        sql=sql, path=path, fmt="csv", rejects_table=tag + "_rej", temp_objects=[tag + "_rej", tag + "_scan"],
        raw_expr=raw_expr,
        # The same rows numbered by the scan itself: exact whatever the plan, but read on one thread.
        ordinal_sql=sql.replace("CAST(NULL AS BIGINT) AS _k", "row_number() OVER () AS _k", 1),
        blank_lines=empty_lines(path), fallback=by_lines, temp_dirs=[folder] if folder else [],
    )


# A rejected CSV line that holds only spaces is a blank line, not a record.
NOT_BLANK = "trim(csv_line, chr(32) || chr(9) || chr(13) || chr(11) || chr(12)) <> ''"
_SWALLOW_LIMIT = 50  # lines a quoted field may span before a stray quote is assumed instead


def swallowed_lines(con: duckdb.DuckDBPyConnection, rejects_table: str) -> bool:
    """Whether the CSV parser rejected a 'row' that runs over several lines (an opening quote that never
    closed, or closed rows later): then the rows after it were lost in it, and the file must be read
    line by line (`csv_lines_source`) for only the broken row to be quarantined."""
    return bool(fetch_value(
        con, f"SELECT count(*) FROM {rejects_table} WHERE error_type = 'UNQUOTED VALUE' OR strpos(csv_line, chr(10)) > 0"))


SCAN_CHUNK = 4 << 20


def empty_lines(path: Path) -> list[int]:
    """Line numbers (1-based) of the empty lines of a text file, which DuckDB's CSV reader skips without a
    trace; found with a byte search, so a file without any costs one fast read (from the page cache)."""
    out: list[int] = []
    line = 1  # the line the next byte belongs to
    prev_end = b"\n"  # the file starts as if after a newline
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            while chunk := fh.read(SCAN_CHUNK):
                data = prev_end + chunk
                # `data` starts with the previous chunk's last two bytes: newlines there are counted below
                base = line - prev_end.count(b"\n")
                for marker in (b"\n\n", b"\n\r\n"):
                    start = 0
                    while (i := data.find(marker, start)) >= 0:
                        out.append(base + data.count(b"\n", 0, i + 1))
                        start = i + 1
                line += chunk.count(b"\n")
                prev_end = data[-2:]  # a marker may straddle the boundary
    except (OSError, EOFError):
        return []
    return sorted(set(n for n in out if n > 1))


def _parse_record(text: str, delim: str) -> list[str] | None:
    """The fields of `text` if it is exactly one well-formed CSV record, else None."""
    try:
        records = list(csv.reader(io.StringIO(text), delimiter=delim, quotechar='"', doublequote=True, strict=True))
    except csv.Error:
        return None
    return records[0] if len(records) == 1 else None


def csv_lines_source(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    header: list[str],
    fields: Sequence[str],
    mapping: ColumnMapping = IDENTITY,
) -> Source:
    """Read a CSV file record by record in Python, each row numbered by its line: a row whose quotes do
    not close (or whose quoted field runs into the next rows and leaves the wrong number of columns) is
    one quarantined row, and reading resumes at the next line. Slower than DuckDB's reader; used only
    when that reader lost rows to a stray quote."""
    import pyarrow as pa

    delim = mapping.delimiter or ("\t" if base_suffix(path) == ".tsv" else ",")
    ncols = len(header)
    cols: dict[str, list[Any]] = {"_row": [], "_error": [], "_raw": []} | {f"_c{i}": [] for i in range(ncols)}

    def emit(row: int, values: list[str] | None, raw: str, error: str | None) -> None:
        cols["_row"].append(row)
        cols["_error"].append(error)
        cols["_raw"].append(raw[:2000])
        for i in range(ncols):
            cols[f"_c{i}"].append(values[i] if values is not None and i < len(values) else None)

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as fh:
        raw_lines = [ln.rstrip(b"\n").rstrip(b"\r") for ln in fh]
    texts: list[str | None] = []
    for ln in raw_lines:
        try:
            texts.append(ln.decode("utf-8-sig" if not texts else "utf-8"))
        except UnicodeDecodeError:
            texts.append(None)
    del raw_lines
    i = 1  # index of line 2 (line 1 is the header)
    while i < len(texts):
        text = texts[i]
        if text is None:
            emit(i + 1, None, "", "malformed CSV row: not UTF-8 text")
            i += 1
            continue
        if not text.strip():
            i += 1
            continue
        values = _parse_record(text, delim)
        if values is not None and len(values) == ncols:
            emit(i + 1, values, text, None)
            i += 1
            continue
        if values is None:  # a quoted field may legitimately run onto the next lines
            buf, j, joined = text, i + 1, None
            while j < min(len(texts), i + _SWALLOW_LIMIT):
                nxt = texts[j]
                if nxt is None:
                    break
                buf += "\n" + nxt
                got = _parse_record(buf, delim)
                if got is not None:
                    joined = got if len(got) == ncols else None
                    break
                j += 1
            if joined is not None:
                emit(i + 1, joined, buf, None)
                i = j + 1
                continue
            emit(i + 1, None, text, "malformed CSV row: a quote opens a field and does not close on this row")
        else:
            emit(i + 1, None, text, f"malformed CSV row: expected {ncols} columns, found {len(values)}")
        i += 1
    tag = _tag()
    table = pa.table({k: pa.array(v, pa.int64() if k == "_row" else pa.string()) for k, v in cols.items()})
    con.register(tag, table)
    present = {h.strip(): i for i, h in enumerate(header)}

    def column(f: str) -> str | None:
        src = mapping.source_for(f)
        return f"nullif(trim(_c{present[src]}), '')" if src in present else None

    select = _select_fields(fields, mapping, column)
    sql = (f"SELECT _row AS _k, _row, _error, _raw, {select}, "
           + ", ".join(f"_c{i}" for i in range(ncols)) + f" FROM {tag}")
    return Source(sql=sql, path=path, fmt="csvlines", registered=[tag])


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


def _document_records(path: Path) -> list[tuple[int, str]] | None:
    """A JSON file that is one pretty-printed document rather than JSON lines: its records as (number,
    compact JSON text) — the items of a top-level array, else the document itself — or None when the
    file is JSON lines (its first non-blank line is a whole JSON value) or not JSON at all."""
    from audit_kit.ingest.presets.records import MAX_DOCUMENT_BYTES, BrokenDocument, read_document

    try:
        doc = read_document(path, MAX_DOCUMENT_BYTES)
    except BrokenDocument:
        # Named as JSON lines: a first line such as "[" that opens nothing valid is a bad line, quarantined
        # with its reason like any other, not a reason to refuse the file's good lines.
        if base_suffix(path) in (".jsonl", ".ndjson"):
            return None
        raise
    if doc is None:
        return None
    items = doc if isinstance(doc, list) else [doc]
    return [(i, json.dumps(item, ensure_ascii=False, separators=(",", ":"))) for i, item in enumerate(items, 1)]


def jsonl_source(
    con: duckdb.DuckDBPyConnection, path: Path, fields: Sequence[str], mapping: ColumnMapping = IDENTITY
) -> Source:
    """Stage a JSON-lines file: each non-blank line one object; a bad line is a row with `_error`.
    A pretty-printed JSON document (an object, or an array of objects) is read whole instead, its
    records numbered from 1."""
    tag = _tag()
    records = _document_records(path)
    if records is None:
        _load_lines(con, path, tag + "_lines")
    else:
        import pyarrow as pa

        con.execute(f"CREATE TEMP TABLE {tag}_lines (_n BIGINT, line VARCHAR, _enc VARCHAR)")
        batch = pa.table({"_n": pa.array([n for n, _ in records], pa.int64()),
                          "line": pa.array([t for _, t in records], pa.string()),
                          "_enc": pa.array([None] * len(records), pa.string())})
        con.register(tag + "_b", batch)
        con.execute(f"INSERT INTO {tag}_lines SELECT * FROM {tag}_b")
        con.unregister(tag + "_b")
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
    name, folder = engine_path(path)
    try:
        schema = con.execute(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet({lit(name)}))"
        ).fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{display_path(path)}: not a readable Parquet file: {str(exc).splitlines()[0]}") from None
    types = dict(schema)
    missing = [f for f in required if mapping.source_for(f) not in types and f not in mapping.constants]
    if missing:
        raise InputError(
            f"{display_path(path)}: missing required column(s) {', '.join(missing)}; it has: {', '.join(types)}",
            hint="an OCSF Parquet file (e.g. from Amazon Security Lake) is read with --preset ocsf",
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
        f"FROM read_parquet({lit(name)}, file_row_number=true)"
    )
    return Source(sql=sql, path=path, fmt="parquet", raw_expr=raw_of([f"_c{i}" for i in range(len(types))]),
                  temp_dirs=[folder] if folder else [])


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


def numbered(
    con: duckdb.DuckDBPyConnection, tag: str, rejects_table: str | None, blank_lines: Sequence[int] = ()
) -> tuple[str, str, int]:
    """FROM clause and row-number expression for staged table `tag`, plus the count of rejected lines.

    The CSV parser drops the lines it rejects and the empty lines it skips, so parsed row k sits after
    every such line r_i with r_i - i <= k (i counted from 1); an ASOF join against that small table
    restores the file's row numbers (header = row 1). Sources that know their rows (`_row`) keep them.
    """
    rejected = 0
    skipped = []
    if rejects_table:
        rejected = fetch_value(con, f"SELECT count(DISTINCT line) FROM {rejects_table} WHERE {NOT_BLANK}")
        skipped.append(f"SELECT DISTINCT line FROM {rejects_table}")
    if blank_lines:
        skipped.append("SELECT unnest([" + ", ".join(str(int(n)) for n in blank_lines) + "]::BIGINT[]) AS line")
    has_skipped = bool(blank_lines) or (
        bool(rejects_table) and fetch_value(con, f"SELECT count(*) FROM {rejects_table}") > 0)
    if not has_skipped:
        return f"{tag} n", "coalesce(n._row, n._k + 1)", 0
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {tag}_shift AS
        SELECT threshold, max(shift) AS shift FROM (
            SELECT line - row_number() OVER (ORDER BY line) AS threshold, row_number() OVER (ORDER BY line) AS shift
            FROM ({" UNION ".join(skipped)})) GROUP BY threshold"""
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
    path: Path | str,
    kind: str,
    at: object,
) -> None:
    """Copy the CSV parser's rejected lines into the quarantine, one row per line with its first error
    (lines of spaces only are blank lines, not records: they are not quarantined)."""
    if not rejects_table:
        return
    con.execute(
        f"""INSERT INTO quarantine
        SELECT ?, ?, line, ?, 'malformed CSV row: ' || first(error_message ORDER BY column_idx),
               first(csv_line), ?
        FROM {rejects_table} WHERE {NOT_BLANK} GROUP BY line""",
        [batch_id, display_path(path), kind, at],
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
            f"{display_path(path)}: cannot be parsed: {reason}" + (f" ({where})" if where else ""),
            hint="check the file's line endings, quoting and encoding (UTF-8)",
        ) from None
