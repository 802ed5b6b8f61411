"""Options and output helpers shared by the commands (formats, quiet mode, progress, JSON)."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from audit_kit.errors import InputError
from audit_kit.progress import NULL_PROGRESS
from audit_kit.progress import Progress as ProgressSink
from audit_kit.safetext import spreadsheet_cell
from audit_kit.store.workspace import DEFAULT_WORKSPACE


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


WorkspaceOption = typer.Option(
    DEFAULT_WORKSPACE, "--workspace", "-w", help="Workspace directory (DuckDB store, quarantine).",
    envvar="AUDIT_KIT_WORKSPACE",
)
QuietOption = typer.Option(False, "--quiet", "-q", help="No progress or chatter (cron). Implied without a TTY.")
ConfigOption = typer.Option(
    None, "--config", "-c", help="audit-kit.yaml to judge with (default $AUDIT_KIT_CONFIG, then ./audit-kit.yaml, "
    "then WORKSPACE/audit-kit.yaml, else the defaults).",
)


def is_quiet(quiet: bool) -> bool:
    """Quiet when asked, or when stderr is not a terminal (cron, pipes, CI)."""
    return quiet or not sys.stderr.isatty()


stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False)


class RichProgress:
    """A ProgressSink drawn with rich on stderr."""

    def __init__(self) -> None:
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(),  # shows "?" for work of unknown size
            console=stderr, transient=True,
        )
        self._task: Any = None
        self._progress.start()

    def start(self, label: str, total: float | None = None) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(label, total=total)

    def advance(self, amount: float = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def finish(self) -> None:
        self._progress.stop()


def progress_for(quiet: bool) -> ProgressSink:
    """A progress bar on a terminal, nothing in cron or with --quiet."""
    return NULL_PROGRESS if is_quiet(quiet) else RichProgress()


def check_output(out: Path | None) -> None:
    """Fail before a long job when `-o` could not be written: a directory, a missing folder, no access.

    InputError (exit 2) names the path and what is wrong."""
    if out is None:
        return
    if out.is_dir():
        raise InputError(f"{out}: is a directory; give a file name for -o")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{out}: the folder {parent} does not exist", hint="create it first, or choose another -o")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise InputError(f"{out}: cannot be written here (permission denied)")


@contextmanager
def _writing(out: Path) -> Iterator[None]:
    """Turn a failed write (missing folder, no access, disk full) into an input error naming the file."""
    try:
        yield
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror or exc})") from None


def emit_json(obj: Any, out: Path | None = None) -> None:
    text = json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n"
    if out:
        with _writing(out):
            out.write_text(text)
    else:
        sys.stdout.write(text)


def csv_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run as a formula (see audit_kit.safetext); None is empty."""
    return "" if value is None else spreadsheet_cell(value)


def emit_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str], out: Path | None = None) -> None:
    """Write rows as CSV (to `out` or stdout), formula-safe for spreadsheets."""
    if out is None:
        _write_csv(sys.stdout, rows, columns)
        return
    with _writing(out), out.open("w", newline="") as fh:
        _write_csv(fh, rows, columns)


def _write_csv(fh: TextIO, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_safe(row.get(k)) for k in columns})


def emit_table(rows: Iterable[dict[str, Any]], columns: Sequence[str], title: str | None = None) -> None:
    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else f"{row.get(c):,}" if isinstance(row.get(c), int) else str(row.get(c)) for c in columns))
    stdout.print(table)
