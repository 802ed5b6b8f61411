"""Data engines the detectors run on: DuckDB over the workspace (default) or Spark.

```python
from audit_kit.engine import open_engine, SparkOptions
engine = open_engine("spark", ws, SparkOptions(master="local[2]", source="/lake/review-2026"))
try:
    run = run_detectors(ws, engine=engine)       # findings still land in the workspace
finally:
    engine.close()
```

An engine supplies the canonical tables as Ibis expressions and keeps intermediate aggregates
(`Engine` in `base.py`); the detectors are the same Ibis code on either. pyspark is imported only
when the Spark engine is opened, so the extra stays optional.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit_kit.engine.base import Engine
from audit_kit.engine.duckdb import DuckDBEngine
from audit_kit.engine.spark import SparkEngine, SparkOptions  # imports pyspark only when opened
from audit_kit.errors import InputError

if TYPE_CHECKING:
    from audit_kit.store.workspace import Workspace

ENGINES = ("duckdb", "spark")


def open_engine(name: str, ws: Workspace, spark: SparkOptions | None = None, session: Any = None) -> Engine:
    """The engine called `name` over `ws` ("duckdb") or over Spark with `spark` options ("spark").

    Raises InputError for an unknown name or Spark options given to DuckDB; ConfigError when the
    Spark engine's pyspark or Java is missing.
    """
    if name == "duckdb":
        if spark is not None and (spark.master or spark.source or spark.database or spark.conf):
            raise InputError("Spark options (--spark-master, --source, --source-database, --spark-conf) need "
                             "--engine spark")
        return DuckDBEngine(ws)
    if name == "spark":
        return SparkEngine.open(ws, spark, session=session)
    raise InputError(f"unknown engine {name!r}", hint="choose one of: " + ", ".join(ENGINES))


__all__ = ["ENGINES", "DuckDBEngine", "Engine", "SparkEngine", "SparkOptions", "open_engine"]
