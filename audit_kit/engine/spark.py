"""The Spark engine: the same Ibis detectors, run by PySpark over Parquet or tables in a Spark catalog.

Sources, in order of preference for a real deployment:

* `database` — the canonical tables already in the Spark catalog (`DB.events`, `DB.organisations`…);
* `source` — a directory or lake URI holding `events/` (Parquet file or directory, possibly
  partitioned) and the reference tables as `<table>.parquet` or `<table>/`;
* neither — the workspace's own tables, exported by DuckDB to `WS/spark/<table>.parquet` (no pandas in
  between). Fine for `local[*]`; a cluster needs a path every executor can read.

Every source is registered as a temporary view with the canonical columns and types (a missing
optional column is null, a missing optional reference table is empty), so the detectors' Ibis
expressions compile the same whatever the source. Aggregates are cached temporary views.

(Why this module runs past 400 lines: the Spark engine's three sources, their canonical views, sessions and
the kept-aggregate bridge belong to one backend; nothing else imports PySpark.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit_kit.engine.duckdb import sql_rows
from audit_kit.errors import ConfigError, InputError
from audit_kit.schema import DEFAULT_TIMEZONE, EVENTS, REFERENCE_TABLES, Table

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from audit_kit.store.workspace import Workspace

DEFAULT_MASTER = "local[2]"
EXPORT_DIR = "spark"
SPARK_EXTRA = "the Spark engine needs the optional extra: pip install 'audit-kit[spark]'"
LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")

CANONICAL: dict[str, Table] = {t.name: t for t in (EVENTS, *REFERENCE_TABLES)}
# A source must hold these tables; the other reference tables are optional (their detectors are skipped).
REQUIRED_TABLES = ("events", "organisations")
# Columns without which a table means nothing to detection (the keys, and an event's who/what/when).
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("timestamp", "user_id", "org_id", "action", "outcome"),
    "organisations": ("org_id",),
    "users": ("user_id", "org_id"),
    "subjects": ("record_id",),
    "involvements": ("record_id", "org_id"),
}
_SPARK_TYPES = {"VARCHAR": "STRING", "TIMESTAMP": "TIMESTAMP_NTZ", "DATE": "DATE", "BOOLEAN": "BOOLEAN",
                "INTEGER": "INT", "BIGINT": "BIGINT"}
# Settings audit-kit gives a local session unless the caller sets them: small data, two cores, no UI.
_LOCAL_DEFAULTS = {"spark.ui.enabled": "false", "spark.driver.memory": "2g"}


@dataclass(frozen=True)
class SparkOptions:
    """How to reach Spark and where the data is. `conf` passes `spark.*` settings through unchanged."""

    master: str | None = None
    conf: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    database: str | None = None
    quiet: bool = True  # the JVM's own stderr (banners, warnings, logs) goes to /dev/null

    def resolved_master(self) -> str:
        """`master` (the flag, else $AUDIT_KIT_SPARK_MASTER, resolved by the run context), else local[2]."""
        return self.master or DEFAULT_MASTER


def require_pyspark() -> None:
    """ConfigError with the install hint when pyspark (or Ibis's pyspark backend) cannot be imported."""
    try:
        import pyspark  # noqa: F401
        import pyspark.sql  # noqa: F401
    except ImportError:
        raise ConfigError(SPARK_EXTRA) from None


def require_java() -> None:
    """ConfigError when no Java runtime is found ($JAVA_HOME/bin/java or java on PATH).

    JAVA_HOME is the JVM's own contract (pyspark reads it too), not audit-kit configuration."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return
    if shutil.which("java"):
        return
    raise ConfigError(
        "the Spark engine needs a Java runtime (17 or later): no java on PATH and JAVA_HOME is not set",
        hint="install a JDK (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME",
    )


def _is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def _local_path(uri: str) -> Path:
    return Path(uri[len("file://"):] if uri.startswith("file://") else uri)


def export_workspace(ws: Workspace, out_dir: Path | None = None) -> Path:
    """Write the workspace's canonical tables to `out_dir` (default WS/spark) as `<table>.parquet`.

    DuckDB's COPY writes each file straight from the store (no pandas); each is written beside and
    renamed into place, so a killed export never leaves a half-written file for Spark to read.
    """
    out = out_dir or ws.path / EXPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    for name in CANONICAL:
        target = out / f"{name}.parquet"
        tmp = out / f".{name}.parquet.tmp"
        quoted = str(tmp).replace("'", "''")
        sql_rows(ws, f"COPY (SELECT * FROM \"{name}\") TO '{quoted}' (FORMAT parquet)")
        os.replace(tmp, target)
    return out


def check_source_dir(source: str) -> None:
    """InputError naming the missing table when a local --source lacks events or organisations."""
    if not _is_local(source):
        return  # a lake URI: Spark reports a missing table when it is read
    root = _local_path(source)
    if not root.is_dir():
        raise InputError(f"--source {source}: no such directory",
                         hint="give a directory holding events/ and organisations.parquet")
    for name in REQUIRED_TABLES:
        if _local_candidate(root, name) is None:
            raise InputError(
                f"--source {source}: no {name} table (expected {root / name}/ or {root / (name + '.parquet')})",
                hint="the directory needs events/ (Parquet) and the reference tables as <table>.parquet",
            )


def _local_candidate(root: Path, name: str) -> Path | None:
    for p in (root / name, root / f"{name}.parquet"):
        if p.exists():
            return p
    return None


class SparkEngine:
    """Detection on Spark: canonical tables as temporary views, aggregates as cached temporary views."""

    name = "spark"

    def __init__(self, session: Any, owns_session: bool = False) -> None:
        import ibis

        self.session = session
        self.owns_session = owns_session
        self.con = ibis.pyspark.connect(session)
        self._tag = uuid.uuid4().hex[:8]
        self._views: dict[str, str] = {}
        self._columns: dict[str, set[str]] = {}
        self._cached: dict[str, Any] = {}
        # The workspace's tables exported for this run: a second copy of every child's access
        # record, so it is removed when the engine closes rather than left beside the workspace.
        self._export: Path | None = None

    # -- opening -----------------------------------------------------------------------------------
    @classmethod
    def open(cls, ws: Workspace | None, options: SparkOptions | None = None, session: Any = None) -> SparkEngine:
        """Start (or reuse) a Spark session and register the canonical tables from the chosen source.

        Raises ConfigError when pyspark or Java is missing, InputError when the source lacks a table
        or a key column (the message names the path and the table).
        """
        options = options or SparkOptions()
        if options.source and options.database:
            raise InputError("--source and --source-database are alternatives: give one of them")
        require_pyspark()
        if options.source:
            check_source_dir(options.source)
        source = options.source
        export: Path | None = None
        if source is None and options.database is None:
            if ws is None:
                raise InputError("the Spark engine needs a workspace, --source or --source-database")
            export = export_workspace(ws)
            source = str(export)
        owns = False
        try:
            if session is None:
                session, owns = start_session(options)
        except BaseException:
            if export is not None:
                shutil.rmtree(export, ignore_errors=True)
            raise
        engine = cls(session, owns_session=owns)
        engine._export = export
        try:
            if options.database:
                engine._register_database(options.database)
            else:
                assert source is not None
                engine._register_dir(source)
        except BaseException:
            engine.close()
            raise
        return engine

    def _register_dir(self, source: str) -> None:
        frames: dict[str, Any] = {}
        for name in CANONICAL:
            frames[name] = self._read_parquet(source, name)
        self._register(frames, lambda n: self._where(source, n))

    def _register_database(self, database: str) -> None:
        if not self.session.catalog.databaseExists(database):
            raise InputError(f"--source-database {database}: no such database in the Spark catalog")
        frames: dict[str, Any] = {}
        for name in CANONICAL:
            frames[name] = (self.session.table(f"{database}.{name}")
                            if self.session.catalog.tableExists(f"{database}.{name}") else None)
        self._register(frames, lambda n: f"table {database}.{n}")

    def _where(self, source: str, name: str) -> str:
        if _is_local(source):
            found = _local_candidate(_local_path(source), name)
            return str(found or _local_path(source) / name)
        return f"{source.rstrip('/')}/{name}"

    def _read_parquet(self, source: str, name: str) -> Any:
        """The table's DataFrame, or None when the source has no such table."""
        from pyspark.errors import AnalysisException

        if _is_local(source):
            path = _local_candidate(_local_path(source), name)
            if path is None:
                return None
            try:
                return self.session.read.parquet(str(path))
            except AnalysisException as exc:
                raise InputError(f"{path}: cannot read the {name} table as Parquet: {_first_line(exc)}") from None
        base = source.rstrip("/")
        for uri in (f"{base}/{name}", f"{base}/{name}.parquet"):
            try:
                return self.session.read.parquet(uri)
            except AnalysisException as exc:
                if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc):
                    continue
                raise InputError(f"{uri}: cannot read the {name} table as Parquet: {_first_line(exc)}") from None
        return None

    def _register(self, frames: dict[str, Any], where: Any) -> None:
        from pyspark.sql import functions as F

        for name in REQUIRED_TABLES:
            if frames.get(name) is None:
                raise InputError(f"{where(name)}: the {name} table is missing",
                                 hint="the Spark source needs events and organisations; users, subjects and "
                                 "involvements are optional")
        # Column sets as the source holds them: what `has_data` judges detectors' needs by.
        have = {n: ({f.name.lower() for f in df.schema.fields} if df is not None else set())
                for n, df in frames.items()}
        canon: dict[str, Any] = {}
        for name, table in CANONICAL.items():
            df = frames.get(name)
            if df is None:
                df = self.session.createDataFrame([], _ddl(table))
            else:
                missing = [c for c in KEY_COLUMNS[name] if c not in have[name]]
                if missing:
                    raise InputError(f"{where(name)}: the {name} table lacks column(s) {', '.join(missing)}",
                                     hint="see docs/dataset.md for the canonical columns")
                df = df.toDF(*[c.lower() for c in df.columns])
            canon[name] = df.select(*[
                (F.col(c.name) if c.name in have[name] else F.lit(None)).cast(_SPARK_TYPES[c.type]).alias(c.name)
                for c in table.columns
            ])
        if "local_time" not in have["events"]:
            # Events from a lake may lack the wall-clock column that ingest derives: derive it the
            # same way, from the organisation's timezone (summer time included). No portable Ibis
            # form exists for a per-row zone conversion, so this one step is Spark SQL.
            tz = canon["organisations"].select(
                F.col("org_id").alias("_tz_org"),
                F.coalesce(F.col("timezone"), F.lit(DEFAULT_TIMEZONE)).alias("_tz"),
            )
            ev = canon["events"].join(F.broadcast(tz), F.col("org_id") == F.col("_tz_org"), "left")
            local = F.from_utc_timestamp(F.col("timestamp").cast("timestamp"),
                                         F.coalesce(F.col("_tz"), F.lit(DEFAULT_TIMEZONE)))
            canon["events"] = ev.withColumn("local_time", local.cast("timestamp_ntz")).select(
                *[c.name for c in EVENTS.columns])
            have["events"] = have["events"] | {"local_time"}
        for name, df in canon.items():
            view = f"ak_{self._tag}_{name}"
            df.createOrReplaceTempView(view)
            self._views[name] = view
            self._columns[name] = have[name] if frames.get(name) is not None else set()

    # -- the Engine protocol -------------------------------------------------------------------------
    def table(self, name: str) -> ir.Table:
        if name not in self._views:
            raise InputError(f"the Spark source has no {name} table")
        return self.con.table(self._views[name])

    def columns(self, name: str) -> set[str]:
        return set(self._columns.get(name, set()))

    def has_rows(self, name: str, column: str | None = None) -> bool:
        if name not in self._views:
            return False
        cond = f"WHERE `{column}` IS NOT NULL" if column else ""
        return bool(self.session.sql(f"SELECT 1 FROM `{self._views[name]}` {cond} LIMIT 1").take(1))

    def daily(self, name: str, start: date, end: date) -> ir.Table:
        # Spark keeps nothing between runs: the same definitions, computed from its events.
        from audit_kit.engine.aggregates import DAILY

        e = self.table("events")
        e = e.filter(e.timestamp >= datetime.combine(start, time()), e.timestamp < datetime.combine(end, time()))
        return DAILY[name].over(e)

    def learnt(self, key: str, label: str, span: tuple[date, date],
               build: Callable[[], ir.Table | pd.DataFrame]) -> ir.Table:
        # Nothing is kept between Spark runs: learnt for this run, cached like any other aggregate.
        import ibis

        made = build()
        name = f"ak_{self._tag}_learnt_{key[:16]}"
        if isinstance(made, ibis.Table):
            return self.materialise(name, made)
        # From plain rows with an explicit schema: the frames learnt on the driver are small, and Arrow
        # cannot convert pandas 3's Arrow-backed string columns here.
        schema = ", ".join(f"`{c}` {_pandas_spark_type(t)}" for c, t in made.dtypes.items())
        import pandas as pd

        rows = [tuple(None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in r)
                for r in made.itertuples(index=False, name=None)]
        df = self.session.createDataFrame(rows, schema)
        df.createOrReplaceTempView(name)
        self._cached[name] = df
        return self.con.table(name)

    def time_span(self) -> tuple[datetime | None, datetime | None]:
        row = self.session.sql(f"SELECT min(timestamp), max(timestamp) FROM `{self._views['events']}`").collect()[0]
        return row[0], row[1]

    def materialise(self, name: str, expr: ir.Table) -> ir.Table:
        from pyspark import StorageLevel

        # The compiled query becomes a cached DataFrame behind a temporary view: computed once, on
        # first use, and read by every later query (Spark's equivalent of a temp table).
        df = self.session.sql(self.con.compile(expr)).persist(StorageLevel.MEMORY_AND_DISK)
        df.createOrReplaceTempView(name)
        self._cached[name] = df
        return self.con.table(name)

    def drop(self, name: str) -> None:
        df = self._cached.pop(name, None)
        self.session.catalog.dropTempView(name)
        if df is not None:
            df.unpersist()

    def close(self) -> None:
        """Drop this engine's views and caches; stop the session only if this engine started it."""
        try:
            for name in list(self._cached):
                self.drop(name)
            for view in self._views.values():
                self.session.catalog.dropTempView(view)
            self._views.clear()
        finally:
            if self.owns_session:
                self.session.stop()
                self.owns_session = False
            if self._export is not None:
                shutil.rmtree(self._export, ignore_errors=True)
                self._export = None


def start_session(options: SparkOptions) -> tuple[Any, bool]:
    """The active SparkSession (reused, not owned) or a new one for `options` (owned: stopped on close).

    UTC session time always; Spark's console progress bar off and its logging at ERROR unless the
    caller's `conf` says otherwise.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.conf.set("spark.sql.session.timeZone", "UTC")
        return active, False
    require_java()
    master = options.resolved_master()
    conf: dict[str, str] = {}
    if master.startswith("local"):
        conf.update(_LOCAL_DEFAULTS)
        # One shuffle partition per local core: Spark's default of 200 makes every small stage slow.
        cores = master[6:-1] if master.startswith("local[") else "1"
        conf["spark.sql.shuffle.partitions"] = str(os.cpu_count() or 2) if cores.startswith("*") else cores
    conf.update({
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}",
    })
    conf.update(options.conf)
    conf["spark.sql.session.timeZone"] = "UTC"  # naive timestamps are UTC instants: never the host's zone
    builder = SparkSession.builder.master(master).appName("audit-kit")
    for k, v in conf.items():
        builder = builder.config(k, v)
    try:
        with _jvm_stderr_silenced(options.quiet):
            session = builder.getOrCreate()
    except Exception as exc:  # pyspark raises PySparkRuntimeError when the JVM cannot start
        raise ConfigError(f"could not start Spark (master {master}): {_first_line(exc)}",
                          hint="check Java 17+, the master URL and the spark.* settings") from None
    session.sparkContext.setLogLevel("ERROR")
    return session, True


@contextlib.contextmanager
def _jvm_stderr_silenced(quiet: bool) -> Iterator[None]:
    """With `quiet`, the JVM started inside inherits /dev/null as stderr for its whole life.

    The JVM and Spark print banners and warnings before any log setting can apply (the JDK's
    "incubator modules" notice, Spark's "default log level" line), so in cron or with --quiet the
    only silence that holds is the file descriptor itself. Spark errors still reach Python as exceptions.
    """
    if not quiet:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _pandas_spark_type(dtype: Any) -> str:
    kind = getattr(dtype, "kind", "O")
    return {"i": "BIGINT", "u": "BIGINT", "f": "DOUBLE", "b": "BOOLEAN", "M": "TIMESTAMP_NTZ"}.get(kind, "STRING")


def _ddl(table: Table) -> str:
    return ", ".join(f"`{c.name}` {_SPARK_TYPES[c.type]}" for c in table.columns)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
