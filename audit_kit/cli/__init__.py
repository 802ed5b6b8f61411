"""The `audit-kit` command line: a thin layer that parses options, calls the library, maps errors.

Each command lives in its own module under `audit_kit.cli` and exposes `register(app)`.
Exit codes (see `audit_kit.errors.ExitCode`): 0 ok, 1 findings at or above --fail-on,
2 usage or input error, 3 internal error (rerun with --debug for the traceback).
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import TyperException

from audit_kit import __version__
from audit_kit.errors import AuditKitError, ExitCode

# The plain registry of commands: name -> (module with register(app), one-line summary).
# Modules are imported only when their command runs, so `audit-kit --help` and each command start
# fast whatever their libraries import. Order is --help order. One line per command.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("audit_kit.cli.synth", "Generate a synthetic review world with labelled misuse."),
    "ingest": ("audit_kit.cli.ingest", "Validate and store a review dataset; quarantine bad rows."),
    "checklist": ("audit_kit.cli.checklist", "List, show, validate and import control catalogues."),
    "questionnaire": ("audit_kit.cli.questionnaire", "Make questionnaire templates and import answers."),
    "score": ("audit_kit.cli.score", "Score organisations' questionnaires against a catalogue."),
    "detect": ("audit_kit.cli.detect", "Detect inappropriate access against learned baselines."),
    "evaluate": ("audit_kit.cli.evaluate", "Measure detection recall and precision against a truth file."),
    "graph": ("audit_kit.cli.graph", "Draw or export graphs of access patterns."),
    "assess": ("audit_kit.cli.assess", "Rate each body's risk; or run the whole job to a PDF."),
    "report": ("audit_kit.cli.report", "Render the national risk assessment or DPO packs."),
    "actions": ("audit_kit.cli.actions", "Issue action plans as workbooks; import bodies' responses."),
    "scan": ("audit_kit.cli.scan", "Scheduled scan: ingest new logs and alert once on what is new."),
    "rebuild": ("audit_kit.cli.rebuild", "Recompute the kept per-day aggregates from the events."),
    "findings": ("audit_kit.cli.findings", "Review findings: states, verdicts, notes, suppressions."),
    "people": ("audit_kit.cli.people", "People over time: a user's history, repeat offenders, family look-ups."),
    "subject-access": ("audit_kit.cli.subject_access", "Who has accessed one child's record (PDF or JSON)."),
    "notify": ("audit_kit.cli.notify", "Send DPO e-mail digests and Teams/Slack summaries now."),
    "tickets": ("audit_kit.cli.tickets", "Confirmed findings and overdue actions as Jira/ServiceNow tickets."),
    "serve": ("audit_kit.cli.serve", "Serve the web app for reviewers and DPOs over a workspace."),
    "users": ("audit_kit.cli.users", "Add, list and disable the web app's users (reviewer, dpo, admin)."),
    "access-log": ("audit_kit.cli.access_log", "List the web app's access log and verify its hash chain."),
}


class LazyGroup(TyperGroup):
    """A command group that imports a command's module only when that command is used."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(n for n in self.commands if n not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, summary = COMMANDS[cmd_name]
        if self._listing:  # the root --help needs only the summary line
            return TyperCommand(name=cmd_name, help=summary, short_help=summary)
        if cmd_name not in self.commands:
            sub = typer.Typer(add_completion=False)
            importlib.import_module(module).register(sub)
            cmd = typer.main.get_command(sub)
            commands = getattr(cmd, "commands", None)
            self.commands[cmd_name] = commands[cmd_name] if commands and cmd_name in commands else cmd
        return self.commands[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        LazyGroup._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            LazyGroup._listing = False


app = typer.Typer(
    name="audit-kit",
    help=(
        "Security review and compliance auditing for bodies that read a children's records database.\n\n"
        "Example: audit-kit synth world && audit-kit assess world -o risk-assessment.pdf\n\n"
        "Exit codes: 0 ok, 1 findings at or above --fail-on, 2 usage or input error, 3 internal error."
    ),
    cls=LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_debug = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"audit-kit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for internal errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    global _debug
    _debug = debug or bool(os.environ.get("AUDIT_KIT_DEBUG"))


# What the machine or the store says when the user's files, disk or permissions are the cause: these
# are for the user to fix (exit 2), not audit-kit bugs (exit 3).
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT}
_STORE_PROBLEMS = ("corrupt database file", "no space left on device", "permission denied",
                   "read-only file system", "disk quota exceeded", "could not write", "could not read")


def environment_problem(exc: BaseException) -> str | None:
    """A one-line message when `exc` is the disk, a permission or a damaged workspace, else None."""
    if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc} (check the path, its permissions and free disk space)"
    text = str(exc)
    if type(exc).__module__.startswith(("duckdb", "_duckdb")) and any(p in text.lower() for p in _STORE_PROBLEMS):
        first = text.splitlines()[0] if text else type(exc).__name__
        return (f"the workspace could not be read or written: {first} "
                "(check free disk space and permissions; restore a damaged workspace from its backup)")
    return None


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one error boundary for every command."""
    code = run(argv)
    sys.exit(code)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code instead of exiting (used by main and tests)."""
    try:
        result = app(args=argv, standalone_mode=False, prog_name="audit-kit")
    except AuditKitError as exc:
        typer.echo(f"error: {exc}", err=True)
        return int(exc.exit_code)
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0))
    except typer.Abort:
        typer.echo("aborted", err=True)
        return int(ExitCode.INTERRUPTED)
    except TyperException as exc:  # usage errors from the parser (typer vendors click)
        show = getattr(exc, "show", None)
        if show:
            show()
        else:
            typer.echo(f"error: {exc}", err=True)
        return int(ExitCode.USAGE)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except Exception as exc:  # the boundary: anything else is our bug, unless the machine said no
        if _debug:
            raise
        problem = environment_problem(exc)
        if problem is not None:
            typer.echo(f"error: {problem}", err=True)
            return int(ExitCode.USAGE)
        typer.echo(
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True
        )
        return int(ExitCode.INTERNAL)
    return int(result) if isinstance(result, int) else int(ExitCode.OK)
