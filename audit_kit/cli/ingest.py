"""`audit-kit ingest`: read a review dataset into a workspace, quarantining what fails."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import typer

from audit_kit.app.context import resolve
from audit_kit.cli._common import (
    OutputFormat,
    QuietOption,
    WorkspaceOption,
    emit_json,
    emit_table,
    progress_for,
    stdout,
)
from audit_kit.errors import InputError
from audit_kit.ingest import EventLimits, IngestReport, ingest_path, load_mapping


def ingest(
    dataset: Path = typer.Argument(
        ..., help="Review directory (organisations.csv, events/, …), one events file, or a folder of events files."
    ),
    workspace: Path = WorkspaceOption,
    mapping: Path | None = typer.Option(None, "--mapping", "-m", help="YAML column mapping for non-canonical logs."),
    preset: str | None = typer.Option(None, "--preset", help="Log format preset: fhir, ocsf or cloudtrail."),
    org: str | None = typer.Option(
        None, "--org", help="Organisation (org_id) of every event that names none: the file is this body's own "
        "log. The record's own organisation, then the mapping file's, come first."),
    not_before: str | None = typer.Option(
        None, "--not-before", help="Start of the dataset's period (YYYY-MM-DD): earlier events are quarantined. "
        "Default 1990-01-01."),
    not_after: str | None = typer.Option(
        None, "--not-after", help="End of the dataset's period (YYYY-MM-DD, inclusive): later events are quarantined."),
    future_tolerance: str = typer.Option(
        "1d", "--future-tolerance", help="How far past now an event may be dated (e.g. 2h, 1d, 7d) before it "
        "is quarantined."),
    follow_symlinks: bool = typer.Option(
        False, "--follow-symlinks", help="Read symbolic links that lead out of the dataset (refused by default)."),
    strict: bool = typer.Option(False, "--strict", help="Refuse questionnaires that have any problem."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table or json."),
    quiet: bool = QuietOption,
) -> int:
    """Validate, normalise and store a review dataset; bad rows go to WS/quarantine/ with reasons.

    Every row is counted: read = stored + quarantined + duplicates. Re-ingesting adds nothing twice.

    Example: audit-kit ingest ./review-2026 --workspace ./ws --format json

    Example (one body's own FHIR audit export, which names no organisation):
    audit-kit ingest ./exports/auditevents.xml --workspace ./ws --org GP042
    """
    if not dataset.exists():
        raise InputError(f"{dataset}: no such file or directory (expected a review dataset directory)")
    column_mapping = load_mapping(mapping) if mapping else None
    limits = _limits(not_before, not_after, future_tolerance)
    progress = progress_for(quiet)
    ctx = resolve(workspace, judges=False)
    with ctx.open_workspace(create=True) as ws:
        try:
            report = ingest_path(ws, dataset, column_mapping, preset, strict, progress, ctx.catalogues, org=org,
                                 limits=limits, follow_links=follow_symlinks)
        finally:
            progress.finish()
    if fmt is OutputFormat.json:
        emit_json(report.to_json())
    elif fmt is OutputFormat.csv:
        from audit_kit.cli._common import emit_csv

        emit_csv([f.model_dump() for f in report.files], ["path", "kind", "read", "stored", "quarantined", "duplicates", "note"])
    else:
        _print_table(report)
    return 0


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r}: expected a date YYYY-MM-DD") from None


def _limits(not_before: str | None, not_after: str | None, tolerance: str) -> EventLimits:
    m = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", tolerance)
    if not m:
        raise InputError(f"--future-tolerance {tolerance!r}: expected a number and m, h or d (e.g. 2h, 1d)")
    future = timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]: int(m.group(1))})
    start = datetime.combine(_day(not_before, "--not-before"), datetime.min.time()) if not_before else None
    end = datetime.combine(_day(not_after, "--not-after") + timedelta(days=1), datetime.min.time()) if not_after else None
    if start and end and end <= start:
        raise InputError(f"--not-after {not_after} is before --not-before {not_before}")
    limits = EventLimits(future=future, not_after=end)
    return EventLimits(not_before=start, not_after=end, future=future) if start else limits


def _print_table(report: IngestReport) -> None:
    rows = [f.model_dump() | {"path": Path(f.path).name} for f in report.files]
    rows.append({"path": "total", "kind": "", "read": report.read, "stored": report.stored,
                 "quarantined": report.quarantined, "duplicates": report.duplicates})
    emit_table(rows, ["path", "kind", "read", "stored", "quarantined", "duplicates"], title="Ingest")
    notes = []
    if report.quarantine_file:
        notes.append(f"Quarantined rows and reasons: {report.quarantine_file}")
    if report.id_collisions:
        notes.append(
            f"{report.id_collisions} event(s) reuse an event id that a different event already has (other time, "
            "user, record or action): all were kept, as distinct events."
        )
    notes.extend(report.warnings)
    if report.unknown_users or report.unknown_orgs:
        notes.append(
            f"Events from {report.unknown_users} user(s) and {report.unknown_orgs} organisation(s) not in the "
            "reference files were stored (possible ghost or leaver accounts)."
        )
    for path, why in report.skipped_files:
        notes.append(f"Not read: {path}: {why}")
    if report.missing_reference:
        notes.append("Not supplied (some detectors will be skipped): " + ", ".join(report.missing_reference))
    if report.questionnaires:
        notes.append(f"Questionnaires: {report.questionnaires.get('summary', report.questionnaires)}")
    for n in notes:
        stdout.print(n)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
