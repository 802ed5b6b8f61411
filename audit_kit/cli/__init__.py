"""The `audit-kit` command line: a thin layer that parses options, calls the library, maps errors.

Each command lives in its own module under `audit_kit.cli` and exposes `register(app)`.
Exit codes (see `audit_kit.errors.ExitCode`): 0 ok, 1 findings at or above --fail-on,
2 usage or input error, 3 internal error (rerun with --debug for the traceback).
"""

from __future__ import annotations

import importlib
import os
import sys

import typer
from typer.exceptions import TyperException

from audit_kit import __version__
from audit_kit.errors import AuditKitError, ExitCode

# The plain registry of commands: module paths, each with register(app). Order is --help order.
# Add one line per command module; keep each on its own line (several people edit this list).
COMMANDS: list[str] = [
]

app = typer.Typer(
    name="audit-kit",
    help=(
        "Security review and compliance auditing for bodies that read a children's records database.\n\n"
        "Example: audit-kit synth world && audit-kit assess world -o risk-assessment.pdf\n\n"
        "Exit codes: 0 ok, 1 findings at or above --fail-on, 2 usage or input error, 3 internal error."
    ),
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


for _module in COMMANDS:
    importlib.import_module(_module).register(app)


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
    except Exception as exc:  # the boundary: anything else is our bug
        if _debug:
            raise
        typer.echo(
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True
        )
        return int(ExitCode.INTERNAL)
    return int(result) if isinstance(result, int) else int(ExitCode.OK)
