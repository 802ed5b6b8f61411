"""`audit-kit ingest`: read a review dataset into a workspace, quarantining what fails."""

from __future__ import annotations

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
from audit_kit.ingest import IngestReport, ingest_path, load_mapping


def ingest(
    dataset: Path = typer.Argument(
        ..., help="Review directory (organisations.csv, events/, …), one events file, or a folder of events files."
    ),
    workspace: Path = WorkspaceOption,
    mapping: Path | None = typer.Option(None, "--mapping", "-m", help="YAML column mapping for non-canonical logs."),
    preset: str | None = typer.Option(None, "--preset", help="Log format preset: fhir, ocsf or cloudtrail."),
    strict: bool = typer.Option(False, "--strict", help="Refuse questionnaires that have any problem."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table or json."),
    quiet: bool = QuietOption,
) -> int:
    """Validate, normalise and store a review dataset; bad rows go to WS/quarantine/ with reasons.

    Every row is counted: read = stored + quarantined + duplicates. Re-ingesting adds nothing twice.

    Example: audit-kit ingest ./review-2026 --workspace ./ws --format json
    """
    if not dataset.exists():
        raise InputError(f"{dataset}: no such file or directory (expected a review dataset directory)")
    column_mapping = load_mapping(mapping) if mapping else None
    progress = progress_for(quiet)
    ctx = resolve(workspace, judges=False)
    with ctx.open_workspace(create=True) as ws:
        try:
            report = ingest_path(ws, dataset, column_mapping, preset, strict, progress, ctx.catalogues)
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


def _print_table(report: IngestReport) -> None:
    rows = [f.model_dump() | {"path": Path(f.path).name} for f in report.files]
    rows.append({"path": "total", "kind": "", "read": report.read, "stored": report.stored,
                 "quarantined": report.quarantined, "duplicates": report.duplicates})
    emit_table(rows, ["path", "kind", "read", "stored", "quarantined", "duplicates"], title="Ingest")
    notes = []
    if report.quarantine_file:
        notes.append(f"Quarantined rows and reasons: {report.quarantine_file}")
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
