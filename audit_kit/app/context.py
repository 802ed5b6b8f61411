"""The run context: everything a job takes from outside its data, resolved once at the edge.

A command (CLI or web) builds one `RunContext` from its flags and the environment; the jobs in
`audit_kit.app` and the domain packages below receive what they need from it as parameters. This is
the only module of the library that reads environment variables or looks for a configuration file,
so a detection, the corroboration after it and the report of both are judged under one configuration,
and that configuration is stored with their results.

Environment (each also settable by a flag where one exists):

| variable | what |
| --- | --- |
| `AUDIT_KIT_CONFIG` | the configuration file when `--config` is not given |
| `AUDIT_KIT_MEMORY` | DuckDB memory for every command (default 1GB; `none` = DuckDB's own) |
| `AUDIT_KIT_INGEST_MEMORY`, `AUDIT_KIT_DETECT_MEMORY` | the same for ingest and detection only |
| `AUDIT_KIT_CHECKLISTS` | more directories of catalogues, `:`-separated |
| `AUDIT_KIT_SPARK_MASTER` | the Spark master when `--spark-master` is not given |
| `AUDIT_KIT_WEBHOOK_TOKEN` | the bearer token sent to the scan's webhook |
| `AUDIT_KIT_SCAN_FAULT` | tests only: make a scan kill or hold itself at a named point |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from audit_kit.catalogue import CatalogueLibrary
from audit_kit.config import CONFIG_FILE, AuditConfig, parse_config
from audit_kit.errors import ConfigError
from audit_kit.store.workspace import DEFAULT_MEMORY_CAP, MemoryLimits, Workspace, check_memory_size

if TYPE_CHECKING:
    from audit_kit.engine import Engine, SparkOptions

CONFIG_ENV = "AUDIT_KIT_CONFIG"
MEMORY_ENV = "AUDIT_KIT_MEMORY"
JOB_MEMORY_ENV = {"ingest": "AUDIT_KIT_INGEST_MEMORY", "detect": "AUDIT_KIT_DETECT_MEMORY"}
CHECKLISTS_ENV = "AUDIT_KIT_CHECKLISTS"
SPARK_MASTER_ENV = "AUDIT_KIT_SPARK_MASTER"
WEBHOOK_TOKEN_ENV = "AUDIT_KIT_WEBHOOK_TOKEN"
SCAN_FAULT_ENV = "AUDIT_KIT_SCAN_FAULT"


@dataclass(frozen=True)
class RunContext:
    """One run's settings: workspace, configuration, limits, engine, catalogues and delivery secrets."""

    workspace: Path
    config: AuditConfig = field(default_factory=AuditConfig)
    limits: MemoryLimits = field(default_factory=MemoryLimits)
    engine: str = "duckdb"
    spark: SparkOptions | None = None
    catalogues: CatalogueLibrary = field(default_factory=CatalogueLibrary)
    webhook_token: str | None = None
    scan_fault: str | None = None  # tests: kill@POINT, sleep@POINT=SECONDS, wait@POINT=FILE
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))

    def open_workspace(self, create: bool = False, read_only: bool = False) -> Workspace:
        """The run's workspace, opened under its memory limits (and upgraded when opened for writing)."""
        return Workspace.open(self.workspace, create=create, read_only=read_only, limits=self.limits)

    def open_engine(self, ws: Workspace) -> Engine:
        """The engine the run's detectors and measures compute on (its caller closes it)."""
        from audit_kit.engine import open_engine

        return open_engine(self.engine, ws, self.spark)

    def with_workspace(self, workspace: Path) -> RunContext:
        return replace(self, workspace=Path(workspace))


def resolve_config(path: Path | None, workspace: Path | None, env: Mapping[str, str]) -> AuditConfig:
    """The configuration of a run: `path`, else `$AUDIT_KIT_CONFIG`, else `./audit-kit.yaml`, else
    `WORKSPACE/audit-kit.yaml`, else the defaults. A named file must exist. Every detector's
    parameters are checked. ConfigError names the file and key of any problem."""
    named = path or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV, "").strip() else None)
    if named is not None:
        if not named.is_file():
            how = "check the --config path" if path else f"check ${CONFIG_ENV}"
            raise ConfigError(f"{named}: config file not found", hint=how)
        candidates = [named]
    else:
        candidates = [Path.cwd() / CONFIG_FILE] + ([Path(workspace) / CONFIG_FILE] if workspace else [])
    for p in candidates:
        if p.is_file():
            try:
                text = p.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{p}: cannot read the configuration ({exc})") from None
            # Imported here: the registry loads every detector (and Ibis), which commands that only
            # read a catalogue or write a template should not pay for at start-up.
            from audit_kit.catalogue.log_checks import check_corroboration_config
            from audit_kit.detectors.registry import check_params

            return check_corroboration_config(check_params(parse_config(text, source=str(p))))
    return AuditConfig()


def resolve_limits(env: Mapping[str, str]) -> MemoryLimits:
    """Memory limits from the environment (ConfigError naming the variable for a bad size)."""
    def size(name: str) -> tuple[bool, str | None]:
        value = env.get(name, "").strip()
        return (True, check_memory_size(value, f"${name}")) if value else (False, None)

    given, base = size(MEMORY_ENV)
    if not given:
        base = DEFAULT_MEMORY_CAP
    jobs = {}
    for job, name in JOB_MEMORY_ENV.items():
        given, value = size(name)
        if given:
            jobs[job] = value
    return MemoryLimits(base=base, jobs=jobs)


def catalogue_library(env: Mapping[str, str] | None = None) -> CatalogueLibrary:
    """The catalogues a command can load by id: the shipped ones and `$AUDIT_KIT_CHECKLISTS`' directories."""
    env = os.environ if env is None else env
    return CatalogueLibrary(tuple(Path(p) for p in env.get(CHECKLISTS_ENV, "").split(os.pathsep) if p.strip()))


def resolve(
    workspace: Path,
    config: Path | None = None,
    *,
    engine: str = "duckdb",
    spark: SparkOptions | None = None,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
    judges: bool = True,
) -> RunContext:
    """Build a run's context from its flags and the environment (`env`, default `os.environ`).

    A command that judges nothing (ingest, questionnaire import, scoring) passes `judges=False`: its
    context carries the default configuration, and a configuration file it does not use cannot fail it.
    """
    env = os.environ if env is None else env
    if spark is not None and spark.master is None and env.get(SPARK_MASTER_ENV, "").strip():
        spark = replace(spark, master=env[SPARK_MASTER_ENV].strip())
    ctx = RunContext(
        workspace=Path(workspace),
        config=resolve_config(config, workspace, env) if judges else AuditConfig(),
        limits=resolve_limits(env),
        engine=engine,
        spark=spark,
        catalogues=catalogue_library(env),
        webhook_token=env.get(WEBHOOK_TOKEN_ENV) or None,
        scan_fault=env.get(SCAN_FAULT_ENV) or None,
    )
    return replace(ctx, now=now) if now is not None else ctx
