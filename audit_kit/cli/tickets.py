"""`audit-kit tickets`: confirmed findings and overdue risk-register actions as tickets — a CSV for Jira's
importer, a ServiceNow import set, or one POST per ticket to a webhook (each ticket once)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from audit_kit.cli._common import WorkspaceOption, check_output, stderr, stdout
from audit_kit.cli._review import context
from audit_kit.errors import ExitCode, WorkspaceError
from audit_kit.models.findings import Severity

if TYPE_CHECKING:
    from audit_kit.app.context import RunContext
    from audit_kit.review.notify import Ticket
    from audit_kit.store.people import PeopleStore

tickets_app = typer.Typer(
    help="Confirmed findings and overdue actions as Jira/ServiceNow tickets.\n\n"
    "Example: audit-kit tickets export --workspace ws --format jira -o tickets.csv",
    no_args_is_help=True,
)


class TicketFormat(str, Enum):
    jira = "jira"
    servicenow = "servicenow"
    json = "json"


def _tickets(workspace: Path, org: list[str], min_severity: Severity, actions: bool
             ) -> tuple[RunContext, PeopleStore, list[Ticket]]:
    from audit_kit.review import sync_findings
    from audit_kit.review.notify import build_tickets, overdue_actions
    from audit_kit.store.assessments import load_latest_assessment
    from audit_kit.store.people import PeopleStore

    ctx = context(workspace)
    people = PeopleStore.open(workspace)
    due = []
    try:
        with ctx.open_workspace(read_only=True) as ws:
            sync_findings(ws, people, ctx.now)
            due = overdue_actions(load_latest_assessment(ws), ctx.now.date(), org) if actions else []
    except WorkspaceError as exc:
        stderr.print(f"findings as last published, no overdue actions ({exc.message})")
    return ctx, people, build_tickets(people, due, org, min_severity)


OrgOption = typer.Option([], "--org", help="Only these organisations (repeatable).")
SeverityOption = typer.Option(Severity.INFO, "--min-severity", case_sensitive=False,
                              help="Only confirmed findings at or above this severity.")
ActionsOption = typer.Option(True, "--actions/--no-actions", help="Include overdue risk-register actions.")


@tickets_app.command("export")
def export_cmd(
    workspace: Path = WorkspaceOption,
    fmt: TicketFormat = typer.Option(..., "--format", "-f", help="jira (CSV importer), servicenow (import-set "
                                     "JSON) or json (audit-kit's own)."),
    output: Path = typer.Option(..., "--output", "-o", help="The file to write."),
    org: list[str] = OrgOption,
    min_severity: Severity = SeverityOption,
    actions: bool = ActionsOption,
) -> None:
    """Write every confirmed finding and overdue action as a ticket file for a service desk.

    Example: audit-kit tickets export --workspace ws --format servicenow -o tickets.json --org LA001
    """
    from audit_kit.review.notify import export

    check_output(output)
    _, people, tickets = _tickets(workspace, org, min_severity, actions)
    people.close()
    export(tickets, fmt.value, output)
    stdout.print(f"{len(tickets)} ticket(s) written to {output}")


@tickets_app.command("post")
def post_cmd(
    workspace: Path = WorkspaceOption,
    webhook: str = typer.Option(..., "--webhook", help="https URL receiving one JSON ticket per POST (bearer "
                                "token from $AUDIT_KIT_TICKET_TOKEN)."),
    org: list[str] = OrgOption,
    min_severity: Severity = SeverityOption,
    actions: bool = ActionsOption,
) -> int:
    """POST each ticket not posted to this webhook before, with its key as Idempotency-Key. Exit 1 when
    a post failed (the rest stay due for the next run).

    Example: AUDIT_KIT_TICKET_TOKEN=... audit-kit tickets post --workspace ws --webhook https://desk.example/api/audit-kit
    """
    from audit_kit.review.notify import post_tickets

    ctx, people, tickets = _tickets(workspace, org, min_severity, actions)
    try:
        result = post_tickets(people, tickets, webhook, ctx.now, token=ctx.ticket_token)
    finally:
        people.close()
    stdout.print(f"{len(result.posted)} ticket(s) posted, {result.skipped} already posted"
                 + (f"; stopped: {result.error}" if result.error else ""))
    return int(ExitCode.FINDINGS if result.error else ExitCode.OK)


def register(app: typer.Typer) -> None:
    app.add_typer(tickets_app, name="tickets")
