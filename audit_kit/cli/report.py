"""`audit-kit report`: render the national risk assessment or DPO packs as PDF or HTML."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import typer

from audit_kit.app.completeness import require_complete_detection
from audit_kit.app.context import resolve
from audit_kit.app.limits import limitation_inputs
from audit_kit.cli._common import ConfigOption, QuietOption, WorkspaceOption, progress_for, stderr
from audit_kit.errors import InputError
from audit_kit.report import render_all_packs, render_national, render_org_pack
from audit_kit.report.models import Audience, ReportFormat


def report(
    workspace: Path = WorkspaceOption,
    output: Path = typer.Option(..., "--output", "-o", help="File to write; a directory with --all-orgs."),
    org: str | None = typer.Option(None, "--org", help="Render this organisation's DPO pack instead."),
    all_orgs: bool = typer.Option(
        False, "--all-orgs", help="Render every organisation's DPO pack into -o DIR."
    ),
    audience: Audience = typer.Option(
        Audience.RESTRICTED,
        "--audience",
        "-a",
        help="restricted: user ids and pseudonymised record ids; public: aggregates only.",
    ),
    fmt: ReportFormat | None = typer.Option(
        None, "--format", "-f", help="pdf or html (default: from -o's suffix, else pdf)."
    ),
    reviewer: str | None = typer.Option(
        None, "--reviewer", help="Name shown on the cover and as PDF author."
    ),
    workers: int = typer.Option(
        2, "--workers", min=1, max=16, help="Processes laying out PDFs with --all-orgs."
    ),
    issued: str | None = typer.Option(
        None, "--issued", help="Date of issue (YYYY-MM-DD, default today): every due date counts from it."
    ),
    templates: Path | None = typer.Option(
        None, "--templates", help="Directory of templates overriding the packaged ones (cover, wording, CSS)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON (for scripts)."),
    allow_partial: bool = typer.Option(
        False, "--allow-partial", help="Render even though a detector failed; the limitations name it.",
    ),
    config: Path | None = ConfigOption,
    quiet: bool = QuietOption,
) -> int:
    """Render the national risk assessment (default), one DPO pack (--org) or every pack (--all-orgs).

    It reads the latest stored assessment (`audit-kit assess`), scores, findings and graphs; a section whose source is empty says so. Raw record ids never appear. With --audience public the national report is the public summary: aggregates by type of body and area, small numbers suppressed.

A detection run with a failed detector stops the report (exit 3, naming it) unless --allow-partial: then the limitations say what failed.

    Examples:

      audit-kit report -w ws -o risk-assessment.pdf --reviewer "J. Smith"

      audit-kit report -w ws --org LA001 -o la001.pdf

      audit-kit report -w ws --audience public -o summary.html

      audit-kit report -w ws --all-orgs -o packs/ --issued 2026-11-05

      audit-kit report -w ws -o report.pdf --templates my-templates/
    """
    if org and all_orgs:
        raise InputError("--org and --all-orgs cannot be used together", hint="pick one organisation or all")
    chosen = fmt or _format_from_suffix(output, all_orgs)
    day = _issued(issued)
    ctx = resolve(workspace, config)
    progress = progress_for(quiet)
    # Read-only: a report never changes the workspace, and --all-orgs workers can open it alongside.
    with ctx.open_workspace(read_only=True) as ws:
        failed = require_complete_detection(ws, allow_partial)
        if failed:
            stderr.print(f"warning: detection incomplete (--allow-partial): {', '.join(sorted(failed))} failed")
        try:
            if all_orgs:
                paths = render_all_packs(
                    ws, output, workers=workers, progress=progress, fmt=chosen.value, audience=audience.value,
                    config=ctx.config, catalogues=ctx.catalogues, today=day, templates=templates,
                )
            elif org:
                paths = [render_org_pack(ws, org, output, fmt=chosen.value, audience=audience.value,
                                         config=ctx.config, catalogues=ctx.catalogues, today=day,
                                         templates=templates)]
            else:
                paths = [
                    render_national(
                        ws,
                        output,
                        fmt=chosen.value,
                        audience=audience.value,
                        reviewer=reviewer,
                        progress=progress,
                        config=ctx.config,
                        catalogues=ctx.catalogues,
                        today=day,
                        templates=templates,
                        limits=limitation_inputs(ctx.workspace, day or ctx.now.date(),
                                                 audience is Audience.RESTRICTED),
                    )
                ]
        finally:
            progress.finish()
    if as_json:
        json.dump(
            {"format": chosen.value, "audience": audience.value, "files": [str(p) for p in paths]},
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
    else:
        for p in paths:
            typer.echo(str(p))
    return 0


def _issued(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--issued: expected a date YYYY-MM-DD, got {text!r}") from None


def _format_from_suffix(output: Path, all_orgs: bool) -> ReportFormat:
    suffix = output.suffix.lower().lstrip(".")
    if all_orgs or not suffix:
        return ReportFormat.PDF
    if suffix in ("htm", "html"):
        return ReportFormat.HTML
    if suffix == "pdf":
        return ReportFormat.PDF
    raise InputError(
        f"{output}: cannot tell the format from '.{suffix}'", hint="use .pdf or .html, or --format"
    )


def register(app: typer.Typer) -> None:
    app.command("report")(report)
