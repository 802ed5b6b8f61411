"""`audit-kit access-log`: who read what in the web app, and whether the log's hash chain holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path

import typer

from audit_kit.cli._common import WorkspaceOption, emit_json, emit_table, stderr, stdout
from audit_kit.errors import ExitCode, InputError
from audit_kit.store import web
from audit_kit.store.people import PeopleStore


class LogFormat(StrEnum):
    table = "table"
    json = "json"


def _day(text: str | None, name: str, end: bool = False) -> datetime | None:
    if not text:
        return None
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{name} {text!r}: expected a date YYYY-MM-DD") from None
    return datetime.combine(d + timedelta(days=1) if end else d, time(), UTC)


def access_log(
    workspace: Path = WorkspaceOption,
    fmt: LogFormat = typer.Option(LogFormat.table, "--format", "-f", help="table or json."),
    since: str | None = typer.Option(None, "--since", help="First day (YYYY-MM-DD, UTC)."),
    until: str | None = typer.Option(None, "--until", help="Last day, inclusive (YYYY-MM-DD, UTC)."),
    user: str | None = typer.Option(None, "--user", help="Only this user's entries."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many entries (newest)."),
) -> int:
    """List the web app's access log and verify its hash chain.

    Every page or API read of a body, a finding, a report or a pack, every sign-in (and failed one) and
    every refused request (403) is an entry: who, when (UTC), from where, what, and the status answered.
    The whole chain is verified each time, whatever the filters.

    Exit 0 when the chain verifies; 1 when it is broken (the message names the first bad entry).

    Examples:

      audit-kit access-log -w ws

      audit-kit access-log -w ws --format json --since 2026-10-01 --user jdoe
    """
    first, last = _day(since, "--since"), _day(until, "--until", end=True)
    with PeopleStore.open(workspace) as people:
        check = web.verify_access_log(people)
        entries = web.access_entries(people, first, last, user, limit=limit, newest_first=limit is not None)
    if limit is not None:
        entries.reverse()
    chain = {"ok": check.ok, "entries": check.entries, "broken_at": check.broken_at, "reason": check.reason,
             "head": check.head}
    if fmt is LogFormat.json:
        emit_json({"chain": chain, "entries": [e.to_json() for e in entries]})
    else:
        rows = [{"seq": e.seq, "at": e.at.strftime("%Y-%m-%d %H:%M:%S"), "who": f"{e.username or '-'} ({e.role or '-'})",
                 "from": e.ip or "", "what": e.action, "object": f"{e.object_kind or ''} {e.object_id or ''}".strip(),
                 "body": e.org_id or "", "status": e.status} for e in entries]
        emit_table(rows, ["seq", "at", "who", "from", "what", "object", "body", "status"],
                   title=f"{len(rows)} access-log entr{'y' if len(rows) == 1 else 'ies'}")
        if check.ok:
            stdout.print(f"chain verifies: {check.entries} entries, head {check.head[:16]}…")
    if not check.ok:
        stderr.print(f"error: access log chain broken at entry {check.broken_at}: {check.reason} "
                     f"({check.entries} entries checked)")
        return int(ExitCode.FINDINGS)
    return int(ExitCode.OK)


def register(app: typer.Typer) -> None:
    app.command("access-log")(access_log)
