"""`audit-kit actions`: issue each body's action plan as a workbook, read returned plans back, list statuses."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import typer

from audit_kit.app.context import resolve
from audit_kit.cli._common import ConfigOption, QuietOption, WorkspaceOption, emit_json, emit_table
from audit_kit.errors import InputError

app = typer.Typer(add_completion=False, help="Issue action plans to bodies and take their responses back.")


def _date(text: str | None, option: str) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option}: expected a date YYYY-MM-DD, got {text!r}") from None


@app.command("export")
def export(
    workspace: Path = WorkspaceOption,
    output: Path = typer.Option(..., "--output", "-o", help="The workbook to write; a directory with --all-orgs."),
    org: str | None = typer.Option(None, "--org", help="The body whose action plan to issue."),
    all_orgs: bool = typer.Option(False, "--all-orgs", help="Issue every body's plan into -o DIR."),
    issued: str | None = typer.Option(None, "--issued", help="Date of issue (YYYY-MM-DD, default today): due "
                                                             "dates count from it."),
    config: Path | None = ConfigOption,
    quiet: bool = QuietOption,
) -> int:
    """Write a body's action plan as an Excel workbook to fill in, and record it as issued.

    The body fills in a management response (agreed / partly agreed / not agreed), an owner, a status and evidence of closure for each action and returns the file for `audit-kit actions import`.

    Examples:

      audit-kit actions export -w ws --org GP01 -o gp01-actions.xlsx --issued 2026-11-05

      audit-kit actions export -w ws --all-orgs -o plans/
    """
    from audit_kit.report.actionplan import issue_plans
    from audit_kit.report.api import pack_paths
    from audit_kit.store.assessments import load_latest_assessment
    from audit_kit.store.people import PeopleStore

    if bool(org) == all_orgs:
        raise InputError("give --org ORG or --all-orgs", hint="audit-kit actions export --help")
    day = _date(issued, "--issued")
    ctx = resolve(workspace, config)
    with ctx.open_workspace(read_only=True) as ws:
        assessment = load_latest_assessment(ws)
    if assessment is None:
        raise InputError(f"{workspace}: no assessment is stored", hint="run `audit-kit assess` first")
    if org:
        chosen = [o for o in assessment.orgs if o.org_id == org]
        if not chosen:
            raise InputError(f"organisation {org!r} is not in the latest assessment")
        if output.is_dir():
            raise InputError(f"{output}: is a directory; give a file name (or use --all-orgs)")
        if not output.parent.is_dir():
            raise InputError(f"{output.parent}: no such directory to write {output.name} into")
        paths = {org: output}
    else:
        chosen = list(assessment.orgs)
        if output.exists() and not output.is_dir():
            raise InputError(f"{output}: --all-orgs writes one workbook per body; give a directory")
        if not output.parent.is_dir():
            raise InputError(f"{output.parent}: no such directory to create {output.name} in")
        output.mkdir(exist_ok=True)
        paths = pack_paths(output, [o.org_id for o in chosen], "xlsx", "action-plan")
    with PeopleStore.open(ctx.workspace) as people:
        written = issue_plans(people, assessment, chosen, paths, day)
    if not quiet:
        for p in written:
            typer.echo(str(p))
    return 0


@app.command("import")
def import_(
    files: list[Path] = typer.Argument(..., help="Returned action plan workbooks (.xlsx)."),
    workspace: Path = WorkspaceOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate only; record nothing."),
    quiet: bool = QuietOption,
) -> int:
    """Read returned action plans back, validated like a questionnaire, and record the responses.

    Every problem is named by file, row and column; nothing is recorded unless every file is valid. The next report shows each action's status and follows up what is overdue.

    Examples:

      audit-kit actions import -w ws returned/gp01-actions.xlsx

      audit-kit actions import -w ws returned/*.xlsx --dry-run
    """
    from audit_kit.report.actionplan import import_plans
    from audit_kit.store.people import PeopleStore

    ctx = resolve(workspace, None)
    with PeopleStore.open(ctx.workspace) as people:
        result = import_plans(people, files, datetime.now(UTC).replace(tzinfo=None), dry_run=dry_run)
    if not quiet:
        for p in result.plans:
            typer.echo(f"{p.path}: {p.org_id}: {len(p.responses)} response(s)"
                       + (f", {p.blank} action(s) left blank" if p.blank else "")
                       + (" (dry run: nothing recorded)" if dry_run else ""))
    return 0


@app.command("list")
def list_(
    workspace: Path = WorkspaceOption,
    org: str | None = typer.Option(None, "--org", help="Only this body's actions."),
    as_json: bool = typer.Option(False, "--json", help="JSON for scripts."),
    on: str | None = typer.Option(None, "--on", help="Judge overdue on this date (default today)."),
) -> int:
    """List issued actions with their latest response and status; overdue ones are marked.

    Example:

      audit-kit actions list -w ws --org GP01
    """
    from audit_kit.store import actions as action_store
    from audit_kit.store.people import PEOPLE_FILE, PeopleStore

    day = _date(on, "--on")
    ctx = resolve(workspace, None)
    if not (ctx.workspace / PEOPLE_FILE).exists():
        states = []
    else:
        with PeopleStore.open(ctx.workspace) as people:
            states = action_store.action_states(people, org)
    rows = [{"action_id": s.issued.action_id, "org_id": s.issued.org_id, "priority": s.issued.priority.value,
             "due": s.issued.due.isoformat(), "response": s.response.response.value
             if s.response and s.response.response else "", "status": s.response.status.value if s.response
             else "not started", "owner": s.response.owner_name if s.response else "",
             "overdue": ("yes" if s.overdue(day) else "no") if not as_json else s.overdue(day)}
            for s in states]
    if as_json:
        emit_json(rows, None)
    else:
        emit_table(rows, ["action_id", "priority", "due", "response", "status", "owner", "overdue"],
                   title=f"{len(rows)} issued action(s)")
    return 0


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="actions")
