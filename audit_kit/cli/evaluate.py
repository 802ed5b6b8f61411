"""`audit-kit evaluate`: measure the detectors' recall and precision against a labelled truth file."""

from __future__ import annotations

from pathlib import Path

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
    progress_for,
)
from audit_kit.errors import ExitCode
from audit_kit.models.findings import Severity

COLUMNS = ["detector", "labelled", "caught", "recall", "flagged", "flagged_true", "precision",
           "alerts", "alerts_per_1000_users_month"]


def evaluate(
    truth: Path = typer.Argument(..., help="truth.csv of a synthetic world (user_id, org_id, category, ...)."),
    workspace: Path = WorkspaceOption,
    since: str | None = typer.Option(None, "--since", help="Start of the window (default: last 14 days of data)."),
    until: str | None = typer.Option(None, "--until", help="End of the window (default: end of the data)."),
    min_severity: Severity = typer.Option(
        Severity.MEDIUM, "--min-severity", case_sensitive=False, help="A user counts as flagged at or above this."
    ),
    config: Path | None = ConfigOption,
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the result to this file."),
    quiet: bool = QuietOption,
) -> int:
    """Run every detector (without storing findings) and score it against a truth file: recall per category, precision over flagged users, alerts per 1,000 users per month, and legitimate users wrongly flagged.

    Exit 1 when a legitimate (duty, MASH, national partner, statutory-return) user is flagged at or above --min-severity.

    Example: audit-kit synth world && audit-kit ingest world -w ws && audit-kit evaluate world/truth.csv -w ws
    """
    from audit_kit.app.context import resolve
    from audit_kit.cli.detect import parse_when
    from audit_kit.detectors import run_detectors
    from audit_kit.detectors.evaluate import evaluate_run, load_truth

    check_output(output)
    load_truth(truth)  # validate before the (longer) detection run
    ctx = resolve(workspace, config)
    ws = ctx.open_workspace()
    try:
        run = run_detectors(ws, ctx.config, parse_when(since, "--since"),
                            parse_when(until, "--until", end_of_day=True), progress=progress_for(quiet), store=False)
        ev = evaluate_run(ws, run, truth, min_severity, ctx.config)
    finally:
        ws.close()
    if fmt == OutputFormat.json:
        emit_json(ev.to_json(), output)
    elif fmt == OutputFormat.csv:
        emit_csv([d.__dict__ for d in ev.detectors], COLUMNS, output)
    else:
        emit_table([d.__dict__ for d in ev.detectors], COLUMNS,
                   title=f"{ev.users} users, {ev.window_days:.1f} days; flagged users {ev.flagged_users}, "
                         f"precision {ev.precision}")
        for row in ev.legit_flagged:
            typer.echo(f"legitimate user flagged: {row['user_id']} ({row['why_legitimate']}) by "
                       f"{', '.join(row['detectors'])}", err=True)
    return int(ExitCode.FINDINGS) if ev.legit_flagged else int(ExitCode.OK)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
