"""The default engine: the workspace's own DuckDB connection, its kept per-day aggregates, and temporary
tables for a run's intermediate aggregates."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import duckdb
import ibis

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from audit_kit.store.workspace import Workspace

# Kept baselines whose epoch ended this long before the one in use are dropped.
KEEP_BASELINES_FOR = timedelta(days=28)


def sql_rows(ws: Workspace, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run SQL on the workspace and fetch every row. DuckDB 2 refuses further work on a connection (Ibis
    included) while a result is unfinished, so every statement here is drained; a harmless query also
    drains one that an earlier caller left open (e.g. a `fetchone()`)."""
    ws.con.execute("SELECT 1").fetchall()
    return ws.con.execute(query, params or []).fetchall()


class DuckDBEngine:
    """Detection on the workspace's DuckDB store: its kept per-day aggregates and learnt baselines, and
    connection-scoped temp tables for everything else.

    `use_kept=False` ignores what the workspace keeps and computes everything from `events` (what the
    equivalence tests compare against).
    """

    name = "duckdb"

    def __init__(self, ws: Workspace, use_kept: bool = True) -> None:
        self.ws = ws
        self._kept: bool | None = None if use_kept else False
        self._stamps: dict[str, str] = {}
        self._index: dict[str, Any] | None = None
        self.learnt_hits = 0
        self.learnt_built = 0

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
        sql_rows(self.ws, f'CREATE OR REPLACE TEMP TABLE "{name}" AS {self._sql_with_casts(expr)}')
        return self.ws.ibis.table(name)

    def _sql_with_casts(self, expr: ir.Table) -> str:
        sql = ibis.to_sql(expr, dialect="duckdb")
        # Integer columns are stored as the int64 Ibis declares: DuckDB sums BIGINT into HUGEINT, which
        # Ibis would read back from the table as decimal(38,0) — truncating the medians and quantiles
        # taken over it and putting Decimals in evidence, where Spark (bigint) gives exact doubles.
        cols = ", ".join(
            f'CAST("{c}" AS BIGINT) AS "{c}"' if t.is_integer() and t.is_int64() else f'"{c}"'
            for c, t in expr.schema().items()
        )
        return f"SELECT {cols} FROM ({sql})"

    def learnt(self, key: str, label: str, span: tuple[date, date],
               build: Callable[[], ir.Table | pd.DataFrame]) -> ir.Table:
        """A baseline statistic learnt from the baseline days `span`, kept in the workspace: read when a kept
        one matches `key`, the days' aggregates and the reference tables; else built, kept and returned.

        Without current kept aggregates it is only computed for this run. A read-only workspace (reports,
        the web app) reads a kept one that matches, and computes one that does not for this run only.
        """
        from audit_kit.store import aggregates as store

        if not self.kept():
            return self._temp_learnt(key, build)
        if "reference" not in self._stamps:
            self._stamps["reference"] = store.reference_stamp(self.ws)
        span_key = f"{span[0]}:{span[1]}"
        if span_key not in self._stamps:
            self._stamps[span_key] = store.data_stamp(self.ws, span[0], span[1])
        full = hashlib.sha256(
            f"{key}|{self._stamps[span_key]}|{self._stamps['reference']}".encode()).hexdigest()
        if self._index is None:
            self._index = dict(store.kept_baselines(self.ws))
        hit = self._index.get(full)
        if hit is not None:
            self.learnt_hits += 1
            return self.ws.table(hit.table_name)
        if self.ws.read_only:
            return self._temp_learnt(key, build)
        made = build()
        try:
            if isinstance(made, ibis.Table):
                kb = store.keep_baseline(self.ws, full, label, span[0], span[1], self._sql_with_casts(made))
            else:
                view = f"_ak_df_{full[:12]}"
                self.ws.con.register(view, made)
                try:
                    kb = store.keep_baseline(self.ws, full, label, span[0], span[1], f'SELECT * FROM "{view}"')
                finally:
                    self.ws.con.unregister(view)
        except duckdb.TransactionException:  # inside the caller's transaction: compute for this run only
            return self._temp_learnt(key, lambda: made)
        self.learnt_built += 1
        if self._index is not None:  # (a statistic learnt inside `build` may have dropped stale ones: reread)
            self._index[full] = kb
        dropped = store.drop_stale_baselines(self.ws, label, span[1], full, span[1] - KEEP_BASELINES_FOR)
        if dropped:
            self._index = None
        return self.ws.table(kb.table_name)

    def _temp_learnt(self, key: str, build: Callable[[], ir.Table | pd.DataFrame]) -> ir.Table:
        made = build()
        name = f"_ak_learnt_{key[:16]}"
        if isinstance(made, ibis.Table):
            return self.materialise(name, made)
        view = f"_ak_df_{key[:12]}"
        self.ws.con.register(view, made)
        try:
            sql_rows(self.ws, f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM "{view}"')
        finally:
            self.ws.con.unregister(view)
        return self.ws.ibis.table(name)

    def drop(self, name: str) -> None:
        sql_rows(self.ws, f'DROP TABLE IF EXISTS "{name}"')

    def close(self) -> None:
        """Nothing to release: the workspace owns the connection."""
