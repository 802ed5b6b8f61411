"""`audit-kit detect`: run the detectors over a window against the baseline before it; print findings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from audit_kit.cli._common import (
    ConfigOption,
    OutputFormat,
    QuietOption,
    WorkspaceOption,
    check_output,
    emit_csv,
    emit_json,
    emit_table,
    is_quiet,
    progress_for,
    stderr,
)
from audit_kit.errors import ExitCode, InputError
from audit_kit.models.findings import Finding, Severity

if TYPE_CHECKING:
    from audit_kit.detectors import DetectionRun
    from audit_kit.engine import SparkOptions

CSV_COLUMNS = ["finding_id", "detector", "severity", "score", "org_id", "user_id", "record_count", "first_seen",
               "last_seen", "summary", "evidence"]
TABLE_COLUMNS = ["severity", "detector", "org_id", "user_id", "score", "summary"]


# A window bound outside these years is a typo (the baseline before it would not even be a date).
PLAUSIBLE_FIRST, PLAUSIBLE_LAST = 1970, 2200


def parse_when(text: str | None, option: str, end_of_day: bool = False) -> datetime | None:
    """A date (YYYY-MM-DD, UTC midnight; with `end_of_day` the next midnight) or an ISO 8601 instant."""
    if text is None:
        return None
    t = text.strip()
    try:
        if len(t) == 10:
            d = datetime.combine(datetime.strptime(t, "%Y-%m-%d").date(), time())
            dt = d + timedelta(days=1) if end_of_day else d
        else:
            dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{option} {text!r}: expected a date YYYY-MM-DD or an ISO 8601 time such as 2026-10-18T00:00Z"
        ) from None
    when = dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt
    if not PLAUSIBLE_FIRST <= when.year <= PLAUSIBLE_LAST:
        raise InputError(f"{option} {text!r}: expected a date between {PLAUSIBLE_FIRST} and {PLAUSIBLE_LAST}")
    return when


def detect(
    workspace: Path = WorkspaceOption,
    since: str | None = typer.Option(
        None, "--since", help="Start of the window (date or ISO time, UTC). Default: 14 days before the data ends."
    ),
    until: str | None = typer.Option(
        None, "--until", help="End of the window; a bare date includes that whole day. Default: end of the data."
    ),
    detectors: str | None = typer.Option(None, "--detectors", "-d", help="Comma-separated detector ids (default all)."),
    min_severity: Severity = typer.Option(
        Severity.LOW, "--min-severity", case_sensitive=False, help="Show findings at or above this severity."
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table, json (the findings contract) or csv."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write findings to this file instead of stdout."),
    fail_on: Severity | None = typer.Option(
        None, "--fail-on", case_sensitive=False, help="Exit 1 when a finding is at or above this severity."
    ),
    config: Path | None = ConfigOption,
    budget: float | None = typer.Option(
        None, "--budget", min=0.0, max=1.0,
        help="Alert budget: the share of active users alerted at medium or above on moderate evidence "
        "(default 0.02, config alert_budget); conclusive evidence is never held back.",
    ),
    no_store: bool = typer.Option(False, "--no-store", help="Do not write findings to the workspace (a dry run)."),
    list_detectors: bool = typer.Option(False, "--list", help="List the detectors and exit."),
    engine: str = typer.Option(
        "duckdb", "--engine", "-e", help="duckdb (the workspace's store) or spark (PySpark; pip install "
        "'audit-kit[spark]'). See docs/spark.md.",
    ),
    spark_master: str | None = typer.Option(
        None, "--spark-master", help="Spark master URL: local[2] (default, or $AUDIT_KIT_SPARK_MASTER), yarn, "
        "k8s://..., spark://host:7077. Spark only.",
    ),
    spark_conf: list[str] = typer.Option(
        [], "--spark-conf", help="A spark.* setting KEY=VALUE passed to the session (repeatable). Spark only."
    ),
    source: str | None = typer.Option(
        None, "--source", help="Read events/ and the reference tables as Parquet from this directory or lake URI "
        "(s3a://...) instead of the workspace. Spark only.",
    ),
    source_database: str | None = typer.Option(
        None, "--source-database", help="Read the canonical tables from this Spark catalog database. Spark only."
    ),
    quiet: bool = QuietOption,
) -> int:
    """Detect inappropriate access: judge the window against each user's and peer group's baseline.

    Findings are stored in the workspace (by stable finding_id, so re-runs never duplicate) and printed; record ids appear only as keyed pseudonyms.

    Severities come from the strength of each finding's evidence against chance, combined per user, within an alert budget (--budget; docs/detectors.md).

    Exit 1 with --fail-on when a finding is at or above it; 3 when a detector failed (named on stderr with the cause; the others still ran, and 3 wins over 1).

    Example: audit-kit detect --workspace ws --since 2026-10-18 --format json -o findings.json --fail-on high

    Spark example (the same detectors; findings still stored in the workspace; see docs/spark.md): audit-kit detect -w ws --engine spark --spark-master yarn --source s3a://lake/review-2026 -f json -o findings.json
    """
    from audit_kit.app.context import resolve
    from audit_kit.detectors import REGISTRY, resolve_detectors, run_detectors

    if list_detectors:
        rows = [{"id": s.id, "title": s.title, "severity": s.severity_policy,
                 "portable": "yes" if s.portable else "engine aggregates"} for s in REGISTRY.values()]
        if fmt == OutputFormat.json:
            emit_json(rows, output)
        else:
            emit_table(rows, ["id", "title", "severity", "portable"], title="detectors")
        return int(ExitCode.OK)
    ids = resolve_detectors([d.strip() for d in detectors.split(",") if d.strip()]) if detectors else None
    check_output(output)
    t_since = parse_when(since, "--since")
    t_until = parse_when(until, "--until", end_of_day=True)
    spark = _spark_options(engine, spark_master, spark_conf, source, source_database, is_quiet(quiet))
    ctx = resolve(workspace, config, engine=engine, spark=spark)
    ws = ctx.open_workspace()
    try:
        eng = ctx.open_engine(ws)
        try:
            progress = progress_for(quiet)
            cfg = ctx.config if budget is None else ctx.config.model_copy(update={"alert_budget": budget})
            run = run_detectors(ws, cfg, t_since, t_until, ids, progress=progress, store=not no_store,
                                engine=eng)
        finally:
            eng.close()
        from audit_kit.app.readmodels import publish_after_write

        note = None if no_store else publish_after_write(ws, ctx.catalogues)  # what `audit-kit serve` shows
        if note:
            stderr.print(f"warning: {note}")
    finally:
        ws.close()
    # The review (docs/review.md): publish the stored findings; suppressed ones are not counted by --fail-on.
    from audit_kit.review.alerting import after_detect

    counted, review_note = after_detect(workspace, run.findings, ctx.now, stored=not no_store)
    shown = [f for f in run.findings if f.severity >= min_severity]
    _emit(shown, fmt, output)
    if not is_quiet(quiet) or run.errors:
        _report(run, len(shown), output)
    if review_note:
        stderr.print(review_note)
    if run.errors:  # a bug in a detector: 3 whatever was found (the findings are still written)
        return int(ExitCode.INTERNAL)
    if fail_on is not None and any(f.severity >= fail_on for f in counted):
        return int(ExitCode.FINDINGS)
    return int(ExitCode.OK)


def _spark_options(engine: str, master: str | None, conf: list[str], source: str | None,
                   database: str | None, quiet: bool) -> SparkOptions | None:
    """SparkOptions from the command line; a usage error for Spark-only options without --engine spark."""
    from audit_kit.engine import ENGINES, SparkOptions

    if engine not in ENGINES:
        raise InputError(f"--engine {engine!r}: expected one of {', '.join(ENGINES)}")
    given = [name for name, v in (("--spark-master", master), ("--spark-conf", conf), ("--source", source),
                                  ("--source-database", database)) if v]
    if engine != "spark":
        if given:
            raise InputError(f"{', '.join(given)} only apply to --engine spark", hint="add --engine spark")
        return None
    if source and database:
        raise InputError("--source and --source-database are alternatives: give one of them")
    settings: dict[str, str] = {}
    for item in conf:
        key, eq, value = item.partition("=")
        if not eq or not key.strip().startswith("spark."):
            raise InputError(f"--spark-conf {item!r}: expected KEY=VALUE with a spark.* key, "
                             "e.g. spark.executor.memory=8g")
        settings[key.strip()] = value.strip()
    return SparkOptions(master=master, conf=settings, source=source, database=database, quiet=quiet)


def _emit(findings: list[Finding], fmt: OutputFormat, output: Path | None) -> None:
    if fmt == OutputFormat.json:
        emit_json([f.to_json() for f in findings], output)
    elif fmt == OutputFormat.csv:
        rows = []
        for f in findings:
            row = f.to_json()
            row["evidence"] = json.dumps(row["evidence"], sort_keys=True)
            rows.append(row)
        emit_csv(rows, CSV_COLUMNS, output)
    elif output is not None:
        # A table is for the terminal; with -o write the contract's JSON, which a file wants.
        emit_json([f.to_json() for f in findings], output)
    else:
        rows = [{**f.to_json(), "score": f"{f.score:.2f}"} for f in findings]
        emit_table(rows, TABLE_COLUMNS, title=f"{len(findings)} finding(s)")


def _report(run: DetectionRun, shown: int, output: Path | None) -> None:
    s = run.summary()
    sev = ", ".join(f"{n} {k}" for k, n in sorted(s["by_severity"].items(), key=lambda kv: -Severity(kv[0]).rank))
    stderr.print(
        f"window {run.since:%Y-%m-%d %H:%M} .. {run.until:%Y-%m-%d %H:%M} UTC, baseline from "
        f"{run.baseline_start:%Y-%m-%d}: {s['findings']} finding(s) ({sev or 'none'}), {shown} shown"
        + (f", written to {output}" if output else "")
    )
    if run.budget is not None:
        stderr.print(run.budget.summary())
    for det, why in run.skipped:
        stderr.print(f"skipped {det}: {why}")
    for det, msg in run.errors:
        stderr.print(f"[red]error[/red] in {det}: {msg} (the other detectors ran)")


def register(app: typer.Typer) -> None:
    app.command("detect")(detect)
