"""The error and exit-code contract shared by every command.

Library code raises these; the CLI's single error boundary turns them into one line on stderr and
the exit code below. Anything else is an internal error (exit 3, traceback only with --debug).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What every audit-kit command's exit status means (documented in README and docs/cli.md)."""

    OK = 0
    FINDINGS = 1  # findings or alerts at or above --fail-on
    USAGE = 2  # bad arguments or bad input: the message names the file, row or key
    INTERNAL = 3  # a bug: rerun with --debug for the traceback
    BUSY = 75  # scan: another process holds the workspace; nothing was done (EX_TEMPFAIL, retry later)
    INTERRUPTED = 130


class AuditKitError(Exception):
    """A problem the user can fix. `hint` says how; `exit_code` says what the CLI returns."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class InputError(AuditKitError):
    """Bad input data: a file, row or key that is not what the contract expects."""


class ConfigError(AuditKitError):
    """A configuration, mapping or catalogue file that does not validate."""


class WorkspaceError(AuditKitError):
    """A workspace that is missing, locked, or not an audit-kit workspace."""


class IncompleteDetectionError(AuditKitError):
    """A detector failed in the detection run an assessment or report would stand on: a bug, so exit 3,
    but one the user can choose to work around with --allow-partial (the report then says so)."""

    exit_code = ExitCode.INTERNAL


def where(file: object, row: int | None = None, key: str | None = None) -> str:
    """Format a location for messages: 'events.csv, row 12, key timestamp'."""
    parts = [str(file)]
    if row is not None:
        parts.append(f"row {row}")
    if key:
        parts.append(f"key {key}")
    return ", ".join(parts)
