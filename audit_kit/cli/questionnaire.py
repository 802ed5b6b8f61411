"""`audit-kit questionnaire`: blank templates for organisations, and importing their answers."""

from __future__ import annotations

from pathlib import Path

import typer

from audit_kit.app.context import catalogue_library, resolve
from audit_kit.cli._common import (
    OutputFormat,
    QuietOption,
    WorkspaceOption,
    emit_json,
    emit_table,
    progress_for,
    stderr,
    stdout,
)
from audit_kit.errors import InputError
from audit_kit.questionnaires.importer import QuestionnaireRejected, import_files
from audit_kit.questionnaires.templates import TemplateFormat, write_template

# A terminal shows this many problems; --format json carries all of them.
MAX_PROBLEMS_SHOWN = 100

questionnaire_app = typer.Typer(
    help="Security questionnaires: make a blank form, import filled ones.\n\n"
    "Example: audit-kit questionnaire template --checklist accessing-organisation --org LA-001 -o LA-001.xlsx",
    no_args_is_help=True,
)


@questionnaire_app.command("template")
def template_cmd(
    checklist: str = typer.Option(
        "accessing-organisation", "--checklist", "-c", help="Catalogue id or YAML file."
    ),
    org: str | None = typer.Option(None, "--org", help="Organisation id to pre-fill."),
    fmt: TemplateFormat = typer.Option(TemplateFormat.xlsx, "--format", "-f", help="xlsx, csv or yaml."),
    out: Path = typer.Option(..., "--output", "-o", help="File to write."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a blank questionnaire an organisation fills in (Excel: drop-downs, protected structure).

    Example: audit-kit questionnaire template --checklist accessing-organisation --org LA-001 --format xlsx -o LA-001.xlsx
    """
    if out.exists() and not force:
        raise InputError(f"{out}: already exists", hint="use --force to overwrite")
    cat = catalogue_library().load(checklist)
    write_template(cat, fmt, out, org)
    stdout.print(
        f"{out}: {fmt.value} questionnaire for {cat.id} ({len(cat.controls)} controls)"
        + (f", organisation {org}" if org else "")
    )


@questionnaire_app.command("import")
def import_cmd(
    files: list[Path] = typer.Argument(None, help="Questionnaire files (.yaml, .csv, .xlsx) or directories."),
    workspace: Path = WorkspaceOption,
    strict: bool = typer.Option(False, "--strict", help="Refuse the whole import if anything is wrong."),
    received: bool = typer.Option(False, "--received", help="Import the questionnaires DPOs submitted through "
                                  "the web app (audit-kit serve) and mark them imported."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table or json."),
    quiet: bool = QuietOption,
) -> int:
    """Import filled questionnaires into the workspace; every problem is listed (file, sheet, row, control).

    Without --strict, valid answers are stored and problems reported (exit 0); with --strict any problem
    stores nothing (exit 2). A resubmission is stored as a new version; an identical one is skipped.

    Example: audit-kit questionnaire import returns/*.xlsx returns/*.yaml --workspace ./ws --strict

    Example: audit-kit questionnaire import --received --workspace ./ws
    """
    if bool(files) == received:
        raise InputError("give questionnaire files, or --received (the web app's submissions), not both or neither")
    progress = progress_for(quiet)
    ctx = resolve(workspace, judges=False)
    try:
        if received:
            from audit_kit.app.received import import_received

            report = import_received(ctx, strict=strict, progress=progress)
        else:
            with ctx.open_workspace(create=True) as ws:
                report = import_files(ws, files, strict=strict, progress=progress, catalogues=ctx.catalogues)
    except QuestionnaireRejected as exc:
        if fmt is OutputFormat.json:
            emit_json(exc.report.to_json())
        raise
    finally:
        progress.finish()
    if fmt is OutputFormat.json:
        emit_json(report.to_json())
        return 0
    if report.stored:
        emit_table(
            [s.__dict__ for s in report.stored],
            ["org_id", "checklist_id", "version", "answers", "problems", "source_file"],
            title="Questionnaires stored",
        )
    for d in report.duplicates:
        stdout.print(f"skipped (identical to a stored version): {d}")
    for r in report.rejected:
        stderr.print(f"not stored: {r}")
    for p in report.problems[:MAX_PROBLEMS_SHOWN]:
        stderr.print(f"problem: {p}", markup=False, highlight=False)
    if len(report.problems) > MAX_PROBLEMS_SHOWN:
        stderr.print(f"… and {len(report.problems) - MAX_PROBLEMS_SHOWN:,} more problem(s): "
                     "--format json lists every one", markup=False, highlight=False)
    stdout.print(report.summary)
    return 0


def register(app: typer.Typer) -> None:
    app.add_typer(questionnaire_app, name="questionnaire")
