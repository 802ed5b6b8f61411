"""What detection needs from a data engine: canonical tables as Ibis expressions, the per-day aggregates of
the events (`audit_kit.engine.aggregates`), and somewhere to keep intermediate aggregates. Two
implementations: DuckDB over the workspace (the default, reading the aggregates the workspace keeps) and
Spark (computing the same aggregates from its events).

Everything else — the detectors themselves — is Ibis and does not know which engine it runs on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd


@runtime_checkable
class Engine(Protocol):
    """A data engine the detectors run on. `name` is "duckdb" or "spark"."""

    name: str

    def table(self, name: str) -> ir.Table:
        """A canonical table (events, organisations, users, subjects, involvements) as an Ibis table."""
        ...

    def columns(self, name: str) -> set[str]:
        """The columns the source really holds for `name` (empty when the table is absent)."""
        ...

    def has_rows(self, name: str, column: str | None = None) -> bool:
        """True when the table has a row (with `column`, a row where that column is not null)."""
        ...

    def daily(self, name: str, start: date, end: date) -> ir.Table:
        """The per-day aggregate `name` (see `audit_kit.engine.aggregates.DAILY`) for UTC days [start, end)."""
        ...

    def learnt(self, key: str, label: str, span: tuple[date, date],
               build: Callable[[], ir.Table | pd.DataFrame]) -> ir.Table:
        """A baseline statistic learnt from the baseline days `span` (`build` makes it when needed): kept
        between runs where the engine can keep it and the data is unchanged, else computed for this run."""
        ...

    def time_span(self) -> tuple[datetime | None, datetime | None]:
        """The first and last event timestamps (UTC, naive), or (None, None) without events."""
        ...

    def materialise(self, name: str, expr: ir.Table) -> ir.Table:
        """Compute `expr` once into a temporary table (or cached view) called `name`; return it."""
        ...

    def drop(self, name: str) -> None:
        """Drop a temporary table made by `materialise` (no error when it is gone)."""
        ...

    def close(self) -> None:
        """Release what the engine holds (temporary tables; a session it started)."""
        ...
