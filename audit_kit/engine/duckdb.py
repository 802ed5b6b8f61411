"""The default engine: the workspace's own DuckDB connection, its kept per-day aggregates, and temporary
tables for a run's intermediate aggregates."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

import duckdb
import ibis

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from audit_kit.store.workspace import Workspace


def sql_rows(ws: Workspace, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run SQL on the workspace and fetch every row. DuckDB 2 refuses further work on a connection (Ibis
    included) while a result is unfinished, so every statement here is drained; a harmless query also
    drains one that an earlier caller left open (e.g. a `fetchone()`)."""
    ws.con.execute("SELECT 1").fetchall()
    return ws.con.execute(query, params or []).fetchall()


class DuckDBEngine:
    """Detection on the workspace's DuckDB store: connection-scoped temp tables, nothing left in the file."""

    name = "duckdb"

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._kept: bool | None = None

    def kept(self) -> bool:
        """Whether the workspace's kept aggregates are current (folding pending batches in first when the
        workspace is writable and no transaction is open): read them, else compute from events."""
        if self._kept is None:
            from audit_kit.engine.aggregates import ensure_current

            try:
                self._kept = ensure_current(self.ws)
            except duckdb.TransactionException:  # called inside the caller's transaction: leave it alone
                from audit_kit.store.aggregates import is_current

                self._kept = is_current(self.ws)
        return self._kept

    def daily(self, name: str, start: date, end: date) -> ir.Table:
        from audit_kit.engine.aggregates import DAILY
        from audit_kit.store.aggregates import table_name

        if self.kept():
            t = self.ws.table(table_name(name))
            return t.filter(t.day >= start, t.day < end)
        e = self.table("events")
        e = e.filter(e.timestamp >= datetime.combine(start, time()), e.timestamp < datetime.combine(end, time()))
        return DAILY[name].over(e)

    def table(self, name: str) -> ir.Table:
        return self.ws.table(name)

    def columns(self, name: str) -> set[str]:
        return {r[0] for r in sql_rows(
            self.ws, "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]
        )}

    def has_rows(self, name: str, column: str | None = None) -> bool:
        cond = f'WHERE "{column}" IS NOT NULL' if column else ""
        rows = sql_rows(self.ws, f'SELECT count(*) FROM (SELECT 1 FROM "{name}" {cond} LIMIT 1)')
        return bool(rows and rows[0][0])

    def time_span(self) -> tuple[datetime | None, datetime | None]:
        lo, hi = sql_rows(self.ws, "SELECT min(timestamp), max(timestamp) FROM events")[0]
        return lo, hi

    def materialise(self, name: str, expr: ir.Table) -> ir.Table:
        # Plain SQL rather than backend.create_table: the compiled query is the portable part, and a
        # connection-scoped temp table leaves nothing behind in the workspace file.
        sql = ibis.to_sql(expr, dialect="duckdb")
        # Integer columns are stored as the int64 Ibis declares: DuckDB sums BIGINT into HUGEINT, which
        # Ibis would read back from the table as decimal(38,0) — truncating the medians and quantiles
        # taken over it and putting Decimals in evidence, where Spark (bigint) gives exact doubles.
        cols = ", ".join(
            f'CAST("{c}" AS BIGINT) AS "{c}"' if t.is_integer() and t.is_int64() else f'"{c}"'
            for c, t in expr.schema().items()
        )
        sql_rows(self.ws, f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT {cols} FROM ({sql})')
        return self.ws.ibis.table(name)

    def drop(self, name: str) -> None:
        sql_rows(self.ws, f'DROP TABLE IF EXISTS "{name}"')

    def close(self) -> None:
        """Nothing to release: the workspace owns the connection."""
