"""`audit-kit people`: people over time — one user's history across scans, repeat offenders, and staff
looking up their own or a colleague's family."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from audit_kit.cli._common import (
    OutputFormat,
    WorkspaceOption,
    emit_csv,
    emit_json,
    emit_table,
    stderr,
    stdout,
)
from audit_kit.cli._review import context, people_store
from audit_kit.cli.detect import parse_when
from audit_kit.errors import InputError, WorkspaceError

people_app = typer.Typer(
    help="People over time: a user's history, repeat offenders, family look-ups.\n\n"
    "Example: audit-kit people history LA001-U0042 --workspace ws",
    no_args_is_help=True,
)
FormatOption = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv.")


@people_app.command("history")
def history_cmd(
    user: str = typer.Argument(..., help="The user id."),
    workspace: Path = WorkspaceOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """One user across scans: their standing after each run (findings by state, risk score), every
    finding with its review state, and their family look-ups.

    Example: audit-kit people history LA001-U0042 --workspace ws --format json
    """
    from audit_kit.review import user_profile

    ctx = context(workspace)
    with people_store(ctx) as (people, note):
        ws = None
        try:
            ws = ctx.open_workspace(read_only=True)
        except WorkspaceError as exc:
            stderr.print(f"family look-ups left out ({exc.message})")
        try:
            p = user_profile(people, user, ctx.now, ws)
        finally:
            if ws is not None:
                ws.close()
    if note:
        stderr.print(note)
    if not p.findings and not p.history and not p.lookups:
        raise InputError(f"user {user!r}: no findings, history or family look-ups in this workspace")
    if fmt is OutputFormat.json:
        emit_json({"user_id": p.user_id, "org_id": p.org_id, "risk_score": p.risk_score,
                   "history": [s.model_dump(mode="json") for s in p.history],
                   "findings": [f.to_json() for f in p.findings],
                   "lookups": [_lookup(x) for x in p.lookups]})
        return
    if fmt is OutputFormat.csv:
        emit_csv([s.model_dump(mode="json") for s in p.history],
                 ["at", "run_id", "org_id", "findings", "open", "confirmed", "explained", "false_positive",
                  "risk_score", "worst_severity"])
        return
    stdout.print(f"[bold]{p.user_id}[/bold] ({p.org_id or '—'}): risk {p.risk_score:.2f}, "
                 f"{len(p.findings)} finding(s), {p.confirmed} confirmed")
    emit_table([{**s.model_dump(mode="json"), "at": f"{s.at:%Y-%m-%d %H:%M}", "risk": f"{s.risk_score:.2f}"}
                for s in p.history], ["at", "run_id", "findings", "open", "confirmed", "false_positive", "risk"],
               title="standing after each run")
    emit_table([{"id": f.finding_id[:12], "state": f.state.value, "severity": f.severity.value,
                 "detector": f.detector, "when": f"{f.first_seen:%Y-%m-%d}" if f.first_seen else ""}
                for f in p.findings], ["id", "state", "severity", "detector", "when"], title="findings")
    if p.lookups:
        emit_table([_lookup(x) for x in p.lookups], ["kind", "record", "colleague", "accesses", "first"],
                   title="family look-ups")


def _lookup(x: Any) -> dict[str, Any]:
    return {"kind": x.kind, "org_id": x.org_id, "user_id": x.user_id, "role": x.role, "colleague": x.colleague,
            "record": x.record, "accesses": x.accesses, "first": x.first.isoformat(timespec="seconds") + "Z",
            "last": x.last.isoformat(timespec="seconds") + "Z"}


@people_app.command("offenders")
def offenders_cmd(
    workspace: Path = WorkspaceOption,
    min_occasions: int = typer.Option(2, "--min-occasions", min=1, help="Confirmed findings on at least this many "
                                      "distinct days."),
    org: list[str] = typer.Option([], "--org", help="Only these organisations' users (repeatable)."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Repeat offenders: users with confirmed findings on more than one occasion, most occasions first.

    Example: audit-kit people offenders --workspace ws --org LA001 --format csv
    """
    from audit_kit.review import repeat_offenders

    ctx = context(workspace)
    with people_store(ctx) as (people, note):
        found = repeat_offenders(people, min_occasions, tuple(org))
    if note:
        stderr.print(note)
    rows = [o.model_dump(mode="json") for o in found]
    for r in rows:
        r["detectors"] = ",".join(r["detectors"])
    cols = ["user_id", "org_id", "occasions", "confirmed", "open", "risk_score", "detectors",
            "first_confirmed_activity", "last_confirmed_activity"]
    if fmt is OutputFormat.json:
        emit_json([o.model_dump(mode="json") for o in found])
    elif fmt is OutputFormat.csv:
        emit_csv(rows, cols)
    else:
        emit_table(rows, cols[:7], title=f"{len(rows)} repeat offender(s)")


@people_app.command("lookups")
def lookups_cmd(
    workspace: Path = WorkspaceOption,
    kind: str | None = typer.Option(None, "--kind", help="self or coworker (default both)."),
    since: str | None = typer.Option(None, "--since", help="From this date or ISO time (UTC)."),
    until: str | None = typer.Option(None, "--until", help="Up to this date (inclusive) or ISO time."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Staff reading the record of a child in their own family (self) or a colleague's family
    (coworker: another user at the same organisation), where users.csv and subjects.csv carry
    family_key. Records appear as pseudonyms.

    Example: audit-kit people lookups --workspace ws --kind coworker --since 2026-10-01
    """
    from audit_kit.review import family_lookups

    if kind not in (None, "self", "coworker"):
        raise InputError(f"--kind {kind!r}: expected self or coworker")
    ctx = context(workspace)
    with ctx.open_workspace(read_only=True) as ws:
        found = family_lookups(ws, parse_when(since, "--since"), parse_when(until, "--until", end_of_day=True),
                               kinds=(kind,) if kind else ("self", "coworker"))
    rows = [_lookup(x) for x in found]
    cols = ["kind", "org_id", "user_id", "role", "colleague", "record", "accesses", "first", "last"]
    if fmt is OutputFormat.json:
        emit_json(rows)
    elif fmt is OutputFormat.csv:
        emit_csv(rows, cols)
    else:
        emit_table(rows, cols[:8], title=f"{len(rows)} family look-up(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(people_app, name="people")
