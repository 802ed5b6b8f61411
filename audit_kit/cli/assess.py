"""`audit-kit assess`: rate every organisation (likelihood × impact), or run the whole review in one go."""

from __future__ import annotations

from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from audit_kit.cli._common import (
    ConfigOption,
    QuietOption,
    WorkspaceOption,
    check_output,
    emit_csv,
    emit_json,
    emit_table,
    progress_for,
    stderr,
    stdout,
)
from audit_kit.errors import ExitCode, InputError


class AssessFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    oscal_ar = "oscal-ar"


class FailOn(str, Enum):
    very_high = "very-high"
    high = "high"
    moderate = "moderate"
    low = "low"
    never = "never"


_FAIL_RANK = {FailOn.very_high: 5, FailOn.high: 4, FailOn.moderate: 3, FailOn.low: 2}

COLUMNS = ["org_id", "name", "type", "likelihood", "impact", "risk_level", "tier", "basis", "score",
           "contradictions", "findings", "children", "shielded_children", "users", "top_risk"]
TABLE_COLUMNS = ["org_id", "name", "likelihood", "impact", "risk_level", "tier", "basis", "score",
                 "contradictions", "findings"]


def _rows(assessment: Any) -> list[dict[str, Any]]:
    rows = []
    for o in assessment.orgs:
        rows.append({
            "org_id": o.org_id, "name": o.name, "type": o.type, "likelihood": o.likelihood, "impact": o.impact,
            "risk_level": o.risk_level.value, "tier": o.tier,
            "basis": "questionnaire + logs" if o.questionnaire_received else "logs only",
            "score": None if o.score is None or o.score.overall is None else f"{o.score.overall:.1f}",
            "contradictions": len(o.contradictions), "findings": sum(o.finding_counts.values()),
            "children": o.reach.children, "shielded_children": o.reach.shielded_children, "users": o.reach.users,
            "top_risk": o.register[0].title if o.register else "",
        })
    return rows


def assess(
    dataset_dir: Path | None = typer.Argument(
        None, help="Run the whole review of this dataset directory (ingest, detect, assess, report).",
        show_default=False,
    ),
    workspace: Path = WorkspaceOption,
    output: Path | None = typer.Option(
        None, "--output", "-o",
        help="With DATASET_DIR: the report to write (default risk-assessment.pdf). Else: write the ratings here.",
    ),
    fmt: AssessFormat = typer.Option(AssessFormat.table, "--format", "-f", help="Ratings output format."),
    as_of: str | None = typer.Option(None, "--as-of", help="Judge the logs up to this date (YYYY-MM-DD)."),
    checklist: str | None = typer.Option(None, "--checklist", help="Checklist whose answers are scored."),
    reviewer: str | None = typer.Option(None, "--reviewer", help="Reviewer named on the report cover."),
    fail_on: FailOn = typer.Option(
        FailOn.never, "--fail-on", help="Exit 1 if any organisation is rated at or above this risk level.",
    ),
    allow_partial: bool = typer.Option(
        False, "--allow-partial", help="Go on when a detector failed; the report's limitations name it.",
    ),
    config: Path | None = ConfigOption,
    quiet: bool = QuietOption,
) -> int:
    """Rate every organisation's risk (likelihood × impact) with its corroborated answers and register.

    Without DATASET_DIR, assess the workspace as it stands (after ingest and detect), store the assessment with its date and show every organisation's rating.

    With DATASET_DIR, run the one-shot main job: ingest (questionnaires included), detect, corroborate and score, assess, render the PDF report; it ends by printing the report's path. Exit 3 if a detector failed (named on stderr with the cause; the report is still written).

If a detector failed in the detection run the assessment stands on, it stops with exit 3 naming it, unless --allow-partial.

    Examples:

      audit-kit assess --workspace ws --format json -o ratings.json

      audit-kit assess demo/world --workspace demo/workspace -o demo/risk-assessment.pdf
    """
    from audit_kit.app.completeness import require_complete_detection
    from audit_kit.app.context import resolve
    from audit_kit.app.pipeline import run_pipeline
    from audit_kit.assessment import assess_workspace

    day = _parse_date(as_of)
    if dataset_dir is None:
        check_output(output)
    ctx = resolve(workspace, config)
    progress = progress_for(quiet)
    try:
        if dataset_dir is not None:
            if fmt is not AssessFormat.table:
                raise InputError("--format applies to ratings of a workspace, not to the one-shot job",
                                 hint="drop --format, or run `audit-kit assess --workspace WS --format ...` after it")
            out = output or Path("risk-assessment.pdf")
            report_fmt = "html" if out.suffix.lower() in (".html", ".htm") else "pdf"
            result = run_pipeline(ctx, dataset_dir, out, as_of=day, checklist_id=checklist, reviewer=reviewer,
                                  report_format=report_fmt, progress=progress, allow_partial=allow_partial)
            progress.finish()
            assessment = result.assessment
            for note in result.notes:
                stderr.print(f"warning: {note}")
            if not quiet:
                t = assessment.totals
                levels = ", ".join(f"{v} {k.value}" for k, v in t.by_risk_level.items() if v)
                stdout.print(f"{t.organisations} organisations assessed ({levels}); "
                             f"{t.contradictions} answer(s) contradicted by the logs; "
                             f"workspace {result.workspace}")
            typer.echo(str(result.report))  # the contract: the one-shot job ends with the report's path
            # Here only with --allow-partial (else the job stopped with exit 3): name what failed, and let
            # --fail-on decide the exit, as asked.
            for det, why in result.detection.get("errors") or []:
                typer.echo(f"error in {det}: {why} (the other detectors ran)", err=True)
            return _exit(assessment, fail_on)
        with ctx.open_workspace() as ws:
            failed = require_complete_detection(ws, allow_partial)
            if failed:
                stderr.print(f"warning: detection incomplete (--allow-partial): {', '.join(sorted(failed))} failed")
            assessment = assess_workspace(ws, ctx.config, as_of=day, checklist_id=checklist, progress=progress,
                                          catalogues=ctx.catalogues)
            from audit_kit.app.readmodels import publish_after_write

            publish_note = publish_after_write(ws, ctx.catalogues)  # what `audit-kit serve` shows
            if publish_note:
                stderr.print(f"warning: {publish_note}")
            progress.finish()
            if fmt is AssessFormat.oscal_ar:
                _emit_oscal(ws, output, assessment, ctx.catalogues)
                return _exit(assessment, fail_on)
    finally:
        progress.finish()
    rows = _rows(assessment)
    if fmt is AssessFormat.json:
        emit_json(assessment.model_dump(mode="json"), output)
    elif fmt is AssessFormat.csv:
        emit_csv(rows, COLUMNS, output)
    else:
        if output:
            emit_csv(rows, COLUMNS, output)
        else:
            emit_table(rows, TABLE_COLUMNS, title=f"Risk assessment as of {assessment.as_of} "
                                                   f"({assessment.totals.organisations} organisations)")
            if assessment.notes and not quiet:
                for note in assessment.notes:
                    stdout.print(f"note: {note}")
    return _exit(assessment, fail_on)


def _emit_oscal(ws: Any, output: Path | None, assessment: Any, catalogues: Any) -> None:
    from audit_kit.oscal import assessment_results

    emit_json(assessment_results(ws, assessment=assessment, catalogues=catalogues), output)


def _parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--as-of: expected a date YYYY-MM-DD, got {text!r}") from None


def _exit(assessment: Any, fail_on: FailOn) -> int:
    threshold = _FAIL_RANK.get(fail_on)
    if threshold and any(o.risk_level.rank >= threshold for o in assessment.orgs):
        return int(ExitCode.FINDINGS)
    return int(ExitCode.OK)


def register(app: typer.Typer) -> None:
    app.command("assess")(assess)
