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
| `AUDIT_KIT_REVIEWER` | who records verdicts and notes when `--reviewer` is not given (else `$USER`) |
| `AUDIT_KIT_SMTP_USER`, `AUDIT_KIT_SMTP_PASSWORD` | SMTP login for e-mail digests (or `notify.email.credentials_file`) |
| `AUDIT_KIT_SMTP_CREDENTIALS` | a file holding `user:password` for the SMTP login |
| `AUDIT_KIT_TEAMS_WEBHOOK`, `AUDIT_KIT_SLACK_WEBHOOK` | chat webhook URLs (secrets; or `notify.chat.*_url_file`) |
| `AUDIT_KIT_TICKET_TOKEN` | the bearer token sent to a ticket webhook |
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
from audit_kit.models.findings import Severity
from audit_kit.review.notify.settings import NotifySettings, SmtpSettings
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
REVIEWER_ENV = "AUDIT_KIT_REVIEWER"
SMTP_USER_ENV = "AUDIT_KIT_SMTP_USER"
SMTP_PASSWORD_ENV = "AUDIT_KIT_SMTP_PASSWORD"
SMTP_CREDENTIALS_ENV = "AUDIT_KIT_SMTP_CREDENTIALS"
TEAMS_WEBHOOK_ENV = "AUDIT_KIT_TEAMS_WEBHOOK"
SLACK_WEBHOOK_ENV = "AUDIT_KIT_SLACK_WEBHOOK"
TICKET_TOKEN_ENV = "AUDIT_KIT_TICKET_TOKEN"


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
    reviewer: str | None = None  # who acts, when a command is not told (--reviewer)
    notify: NotifySettings = field(default_factory=NotifySettings)
    ticket_token: str | None = field(default=None, repr=False)
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
    notify: bool = False,
) -> RunContext:
    """Build a run's context from its flags and the environment (`env`, default `os.environ`).

    A command that judges nothing (ingest, questionnaire import, scoring) passes `judges=False`: its
    context carries the default configuration, and a configuration file it does not use cannot fail it.
    A command that notifies (scan, notify) passes `notify=True`: only then are the SMTP credentials,
    webhook URLs and DPO list read (`resolve_notify`).
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
        reviewer=(env.get(REVIEWER_ENV) or env.get("USER") or env.get("LOGNAME") or "").strip() or None,
        ticket_token=env.get(TICKET_TOKEN_ENV) or None,
    )
    if notify:
        ctx = replace(ctx, notify=resolve_notify(ctx.config, env))
    return replace(ctx, now=now) if now is not None else ctx


def _config_dir(config: AuditConfig) -> Path:
    """Where relative paths in a configuration file are resolved: beside the file."""
    return Path(config.source).parent if config.source != "defaults" else Path(".")


def _read_secret(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read {what} ({getattr(exc, 'strerror', None) or exc})") from None


def _dpo_file(path: Path) -> dict[str, list[str]]:
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{path}: cannot read the DPO list ({getattr(exc, 'strerror', None) or exc})") from None
    out: dict[str, list[str]] = {}
    for i, row in enumerate(rows, start=2):
        org, email = (row.get("org_id") or "").strip(), (row.get("email") or "").strip()
        if not org or "@" not in email:
            raise ConfigError(f"{path}, row {i}: expected columns org_id,email with an address, got {dict(row)}")
        out.setdefault(org, []).append(email)
    return out


def resolve_notify(config: AuditConfig, env: Mapping[str, str]) -> NotifySettings:
    """Notification settings from the configuration's `notify:` section, with secrets from the
    environment or the files it names (ConfigError naming the key, variable or file)."""
    n = config.notify
    base = _config_dir(config)
    src = config.source
    dpos: dict[str, list[str]] = {}
    for org, addresses in n.dpos.items():
        values = [addresses] if isinstance(addresses, str) else list(addresses)
        for a in values:
            if "@" not in a:
                raise ConfigError(f"{src}: key notify.dpos.{org}: {a!r} is not an e-mail address")
        dpos.setdefault(org, []).extend(values)
    if n.dpo_file:
        for org, values in _dpo_file(base / n.dpo_file).items():
            dpos.setdefault(org, []).extend(values)
    smtp = None
    if n.email is not None:
        e = n.email
        user = env.get(SMTP_USER_ENV, "").strip() or None
        password = env.get(SMTP_PASSWORD_ENV) or None
        cred_file = env.get(SMTP_CREDENTIALS_ENV, "").strip() or e.credentials_file
        if cred_file and not (user and password):
            text = _read_secret(base / cred_file if not env.get(SMTP_CREDENTIALS_ENV) else Path(cred_file),
                                "the SMTP credentials")
            name, sep, secret = text.partition(":")
            if not sep or not name.strip():
                raise ConfigError(f"{cred_file}: expected one line user:password")
            user, password = name.strip(), secret
        if e.host.lower() not in ("localhost", "127.0.0.1", "::1") and not e.starttls:
            raise ConfigError(f"{src}: key notify.email.starttls: off for {e.host}, so digests would cross the "
                              "network unencrypted", hint="set starttls: true, or relay through 127.0.0.1")
        smtp = SmtpSettings(host=e.host, port=e.port, starttls=e.starttls, sender=e.sender, username=user,
                            password=password, ca_file=(base / e.ca_file) if e.ca_file else None, timeout=e.timeout)
    teams = env.get(TEAMS_WEBHOOK_ENV, "").strip() or None
    slack = env.get(SLACK_WEBHOOK_ENV, "").strip() or None
    if teams is None and n.chat.teams_url_file:
        teams = _read_secret(base / n.chat.teams_url_file, "the Teams webhook URL") or None
    if slack is None and n.chat.slack_url_file:
        slack = _read_secret(base / n.chat.slack_url_file, "the Slack webhook URL") or None
    return NotifySettings(
        smtp=smtp, dpos={k: tuple(dict.fromkeys(v)) for k, v in dpos.items()},
        digest_min_severity=Severity(n.digest.min_severity), digest_max_items=n.digest.max_items,
        overdue_actions=n.digest.overdue_actions, digest_every_hours=n.digest.every_hours, teams_url=teams, slack_url=slack,
        chat_min_severity=Severity(n.chat.min_severity),
    )
