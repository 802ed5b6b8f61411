"""`audit-kit rebuild`: recompute the kept per-day aggregates from the events (and forget kept baselines)."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path

import typer

from audit_kit.cli._common import QuietOption, WorkspaceOption, emit_json, emit_table, is_quiet
from audit_kit.errors import InputError


class RebuildFormat(StrEnum):
    text = "text"
    json = "json"


def parse_days(text: str) -> list[date]:
    """'2026-10-01..2026-10-07' or one day (UTC) -> the days, inclusive."""
    first, sep, last = text.partition("..")
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if sep else start
    except ValueError:
        raise InputError(f"--days {text!r}: expected FIRST..LAST dates such as 2026-10-01..2026-10-07") from None
    if end < start:
        raise InputError(f"--days {text!r}: the last day is before the first")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def rebuild(
    workspace: Path = WorkspaceOption,
    days: str | None = typer.Option(
        None, "--days", help="Only these UTC days, FIRST..LAST (default: every day, and kept baselines are "
        "forgotten).",
    ),
    output_format: RebuildFormat = typer.Option(RebuildFormat.text, "--format", "-f", help="text or json."),
    quiet: bool = QuietOption,
) -> int:
    """Recompute the workspace's kept per-day aggregates from its events, in one transaction.

    Ingest and scans keep them up to date; rebuild after restoring events from a backup, after deleting events by hand, or to check the store (the result depends only on the events). A full rebuild also forgets the kept baselines; the next detection learns them again. See docs/scale.md.

    Example: audit-kit rebuild --workspace ws

    Example (one late-corrected week): audit-kit rebuild -w ws --days 2026-10-01..2026-10-07
    """
    from audit_kit.app.context import resolve
    from audit_kit.engine.aggregates import rebuild_workspace

    wanted = parse_days(days) if days else None
    ctx = resolve(workspace, None)
    ws = ctx.open_workspace()
    try:
        report = rebuild_workspace(ws, wanted)
    finally:
        ws.close()
    doc = {
        "events": report.events, "days": report.days,
        "first_day": report.first_day.isoformat() if report.first_day else None,
        "last_day": report.last_day.isoformat() if report.last_day else None,
        "aggregates": {name: {"rows": rows, "bytes": size} for name, (rows, size) in report.tables.items()},
        "baselines_dropped": report.baselines_dropped,
    }
    if output_format is RebuildFormat.json:
        emit_json(doc)
    elif not is_quiet(quiet):
        emit_table([{"aggregate": name, "rows": f"{rows:,}", "MB": f"{size / 2**20:,.1f}"}
                    for name, (rows, size) in report.tables.items()], ["aggregate", "rows", "MB"],
                   title=f"{report.days} day(s) recomputed from {report.events:,} events"
                   + (f"; {report.baselines_dropped} kept baseline(s) forgotten" if report.baselines_dropped else ""))
    return 0


def register(app: typer.Typer) -> None:
    app.command("rebuild")(rebuild)
