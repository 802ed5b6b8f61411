"""Small helpers every repository shares for talking to DuckDB safely."""

from __future__ import annotations

from typing import Any

import duckdb


def fetch_one(
    con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None
) -> tuple[Any, ...] | None:
    """First row of a query, with the result fully drained: DuckDB 2 refuses further statements on a
    connection (Ibis's included) while a result is left half-read, as `fetchone()` leaves it."""
    rows = con.execute(query, params or []).fetchall()
    return rows[0] if rows else None


def fetch_all(
    con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None
) -> list[tuple[Any, ...]]:
    """Every row of a query (drained, see `fetch_one`)."""
    return con.execute(query, params or []).fetchall()


def bulk_insert(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, Any], verb: str = "INSERT") -> None:
    """Insert column arrays (name -> list or pyarrow array, in the table's column order) in one statement.

    One INSERT … SELECT from an Arrow table: DuckDB's executemany costs milliseconds a row.
    """
    import pyarrow as pa

    batch = pa.table(columns)
    if batch.num_rows == 0:
        return
    name = f"_ak_batch_{table}"
    con.register(name, batch)
    try:
        con.execute(f'{verb} INTO "{table}" SELECT * FROM {name}')
    finally:
        con.unregister(name)


def sql_list(values: Any) -> str:
    """A parenthesised SQL list of string literals, quotes doubled."""
    return "(" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + ")"


def fetch_value(con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None) -> Any:
    """The first column of the first row (None when the query returns no row), drained."""
    row = fetch_one(con, query, params)
    return None if row is None else row[0]
