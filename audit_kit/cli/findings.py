"""`audit-kit findings`: review findings — list them by state, record verdicts, notes and assignees,
and manage the suppressions and explanations verdicts leave (docs/review.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from audit_kit.cli._common import (
    OutputFormat,
    WorkspaceOption,
    check_output,
    emit_csv,
    emit_json,
    emit_table,
    stderr,
    stdout,
)
from audit_kit.cli._review import ReviewerOption, context, people_store, who
from audit_kit.errors import InputError
from audit_kit.models.findings import Severity
from audit_kit.models.review import ExplainedBy, FindingState, ReviewedFinding, ReviewRule, Verdict

findings_app = typer.Typer(
    help="Review findings: states, verdicts, notes, assignees, suppressions.\n\n"
    "Example: audit-kit findings list --workspace ws --status open --org LA001",
    no_args_is_help=True,
)

FindingArg = typer.Argument(..., help="Finding id (or a unique prefix of 6+ characters).")
FormatOption = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv.")

LIST_COLUMNS = ["finding_id", "state", "severity", "detector", "org_id", "user_id", "record", "first_seen", "last_seen",
                "assignee", "updated_by", "updated_at", "summary"]
TABLE_COLUMNS = ["finding_id", "state", "severity", "detector", "org_id", "user_id", "last_seen", "assignee", "summary"]
RULE_COLUMNS = ["rule_id", "kind", "detector", "org_id", "user_id", "record", "explained_by", "created_by",
                "created_at", "expires_at", "revoked_at", "source_finding", "note"]


def _states(status: list[str]) -> tuple[FindingState, ...]:
    out = []
    for item in status:
        for part in item.split(","):
            p = part.strip().lower().replace("-", "_")
            if not p:
                continue
            if p == "closed":
                out += [FindingState.CONFIRMED, FindingState.EXPLAINED, FindingState.FALSE_POSITIVE]
                continue
            try:
                out.append(FindingState(p))
            except ValueError:
                raise InputError(f"--status {part!r}: expected one of "
                                 + ", ".join(s.value for s in FindingState) + " (or closed)") from None
    return tuple(dict.fromkeys(out))


def _row(f: ReviewedFinding) -> dict[str, Any]:
    data = f.to_json()
    data["short"] = f.finding_id[:12]
    return data


def _emit_findings(found: list[ReviewedFinding], fmt: OutputFormat, output: Path | None, title: str) -> None:
    if fmt is OutputFormat.json:
        emit_json([f.to_json() for f in found], output)
    elif fmt is OutputFormat.csv:
        emit_csv([_row(f) for f in found], LIST_COLUMNS, output)
    elif output is not None:
        emit_json([f.to_json() for f in found], output)
    else:
        rows = [{**_row(f), "finding_id": f.finding_id[:12], "last_seen": f"{f.last_seen:%Y-%m-%d}" if f.last_seen else ""}
                for f in found]
        emit_table(rows, TABLE_COLUMNS, title=title)


@findings_app.command("list")
def list_cmd(
    workspace: Path = WorkspaceOption,
    status: list[str] = typer.Option([], "--status", "-s", help="open, under_review, confirmed, explained, "
                                     "false_positive or closed (repeatable or comma-separated; default all)."),
    org: list[str] = typer.Option([], "--org", help="Only these organisations (repeatable)."),
    detector: str | None = typer.Option(None, "--detector", "-d", help="Only this detector."),
    user: str | None = typer.Option(None, "--user", help="Only this user's findings."),
    assignee: str | None = typer.Option(None, "--assignee", help="Only findings assigned to this person."),
    min_severity: Severity = typer.Option(Severity.INFO, "--min-severity", case_sensitive=False,
                                          help="Only findings at or above this severity."),
    include_absent: bool = typer.Option(False, "--all", help="Also findings a rerun no longer produces (kept "
                                        "with their history)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many (most severe first)."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """List findings with their review state, most severe first.

    The list is refreshed from the workspace's stored findings first; while a scan or ingest holds the
    workspace it shows them as last published (and says so).

    Example: audit-kit findings list --workspace ws --status open --org LA001 --format csv -o open.csv
    """
    from audit_kit.review import FindingFilter, count_findings, list_findings

    check_output(output)
    ctx = context(workspace)
    flt = FindingFilter(states=_states(status), org_ids=tuple(org), user_id=user, detector=detector,
                        assignee=assignee, min_severity=min_severity, include_absent=include_absent)
    with people_store(ctx) as (people, note):
        found = list_findings(people, flt, limit=limit)
        counts = count_findings(people, flt)
    if note:
        stderr.print(note)
    by = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    _emit_findings(found, fmt, output, title=f"{len(found)} finding(s)" + (f" ({by})" if by else ""))


@findings_app.command("show")
def show_cmd(
    finding: str = FindingArg,
    workspace: Path = WorkspaceOption,
    fmt: OutputFormat = FormatOption,
) -> None:
    """Show one finding: its evidence, review state and whole history (who did what, when and why).

    Example: audit-kit findings show 3f9a1c0d2b --workspace ws
    """
    from audit_kit.review import get_finding, history, resolve_finding_id

    ctx = context(workspace)
    with people_store(ctx) as (people, note):
        fid = resolve_finding_id(people, finding)
        f = get_finding(people, fid)
        events = history(people, fid)
    assert f is not None  # resolve_finding_id found it
    if note:
        stderr.print(note)
    if fmt is OutputFormat.json:
        emit_json({**f.to_json(), "history": [e.model_dump(mode="json") for e in events]})
        return
    if fmt is OutputFormat.csv:
        emit_csv([e.model_dump(mode="json") for e in events],
                 ["event_id", "at", "actor", "kind", "from_state", "to_state", "note", "detail"])
        return
    stdout.print(f"[bold]{f.finding_id}[/bold]  {f.severity.value} · {f.detector} · {f.org_id or '—'}"
                 + (f" · user {f.user_id}" if f.user_id else ""))
    stdout.print(f.summary)
    stdout.print(f"state: [bold]{f.state.value}[/bold]" + (f", assigned to {f.assignee}" if f.assignee else "")
                 + (f", judged by rule {f.rule_id}" if f.rule_id else "") + ("" if f.present else
                 " (no longer produced by the detectors)"))
    stdout.print("evidence: " + json.dumps(f.evidence, sort_keys=True))
    rows = [{"at": f"{e.at:%Y-%m-%d %H:%M}", "actor": e.actor, "what": e.kind.value,
             "state": (f"{e.from_state.value if e.from_state else ''} → {e.to_state.value}" if e.to_state else ""),
             "note": e.note or (json.dumps(e.detail) if e.detail else "")} for e in events]
    emit_table(rows, ["at", "actor", "what", "state", "note"], title="history")


@findings_app.command("review")
def review_cmd(
    finding: str = FindingArg,
    verdict: Verdict = typer.Option(..., "--verdict", "-v", case_sensitive=False,
                                    help="confirmed, explained or false_positive."),
    note: str = typer.Option(..., "--note", "-n", help="Why: what you checked and decided (kept in the history)."),
    reviewer: str | None = ReviewerOption,
    suppress_days: int | None = typer.Option(
        None, "--suppress-days", help="false_positive (required): suppress the same detector × user × record "
        "pattern this many days. explained: how long the explanation holds (default 365)."),
    explained_by: ExplainedBy | None = typer.Option(
        None, "--explained-by", case_sensitive=False, help="explained only: involvement (the organisation works "
        "with the child), entitlement (the user's role covers it) or other (default)."),
    workspace: Path = WorkspaceOption,
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table or json."),
) -> None:
    """Record a verdict on a finding, with who decided and why.

    false_positive suppresses the pattern until it expires (stored, never alerted, not counted by
    --fail-on); explained teaches the explained-access model; confirmed raises the user's risk.

    Example: audit-kit findings review 3f9a1c0d2b --workspace ws --verdict false_positive --note "rota cover agreed with DPO" --suppress-days 30
    """
    from audit_kit.review import resolve_finding_id, review_finding

    ctx = context(workspace)
    with people_store(ctx) as (people, _):
        fid = resolve_finding_id(people, finding)
        out = review_finding(people, fid, verdict, note, who(ctx, reviewer), ctx.now, suppress_days=suppress_days,
                             explained_by=explained_by)
    if fmt is OutputFormat.json:
        emit_json({"finding": out.finding.to_json(), "rule": out.rule.to_json() if out.rule else None,
                   "revoked": list(out.revoked), "also_closed": list(out.also_closed)})
        return
    stdout.print(f"{out.finding.finding_id} is now {out.finding.state.value}")
    if out.rule:
        stdout.print(f"{out.rule.rule_id}: {out.rule.describe()}")
    if out.revoked:
        stdout.print(f"revoked the earlier verdict's rule(s): {', '.join(out.revoked)}")
    if out.also_closed:
        stdout.print(f"also closed {len(out.also_closed)} open finding(s) of the same pattern")


@findings_app.command("start")
def start_cmd(
    finding: str = FindingArg,
    reviewer: str | None = ReviewerOption,
    note: str | None = typer.Option(None, "--note", "-n", help="An optional note."),
    workspace: Path = WorkspaceOption,
) -> None:
    """Start reviewing an open finding (open → under_review; you become its assignee if it has none).

    Example: audit-kit findings start 3f9a1c0d2b --workspace ws --reviewer j.smith
    """
    from audit_kit.review import resolve_finding_id, start_review

    ctx = context(workspace)
    with people_store(ctx) as (people, _):
        f = start_review(people, resolve_finding_id(people, finding), who(ctx, reviewer), ctx.now, note)
    stdout.print(f"{f.finding_id} is now {f.state.value}, assigned to {f.assignee}")


@findings_app.command("assign")
def assign_cmd(
    finding: str = FindingArg,
    to: str = typer.Option(..., "--to", help="Who should review it (an empty string unassigns)."),
    reviewer: str | None = ReviewerOption,
    note: str | None = typer.Option(None, "--note", "-n", help="An optional note."),
    workspace: Path = WorkspaceOption,
) -> None:
    """Assign a finding to someone (an open finding moves to under_review).

    Example: audit-kit findings assign 3f9a1c0d2b --workspace ws --to a.khan
    """
    from audit_kit.review import assign, resolve_finding_id

    ctx = context(workspace)
    with people_store(ctx) as (people, _):
        f = assign(people, resolve_finding_id(people, finding), to, who(ctx, reviewer), ctx.now, note)
    stdout.print(f"{f.finding_id} is {f.state.value}" + (f", assigned to {f.assignee}" if f.assignee else ", unassigned"))


@findings_app.command("note")
def note_cmd(
    finding: str = FindingArg,
    note: str = typer.Option(..., "--note", "-n", help="The note."),
    reviewer: str | None = ReviewerOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Add a note to a finding's history (its state is unchanged).

    Example: audit-kit findings note 3f9a1c0d2b --workspace ws --note "asked the DPO for the rota"
    """
    from audit_kit.review import add_note, resolve_finding_id

    ctx = context(workspace)
    with people_store(ctx) as (people, _):
        e = add_note(people, resolve_finding_id(people, finding), note, who(ctx, reviewer), ctx.now)
    stdout.print(f"note {e.event_id} added to {e.finding_id}")


@findings_app.command("reopen")
def reopen_cmd(
    finding: str = FindingArg,
    note: str = typer.Option(..., "--note", "-n", help="Why it is reopened."),
    reviewer: str | None = ReviewerOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Reopen a judged finding (back to open), revoking the suppression or explanation its verdict left.

    Example: audit-kit findings reopen 3f9a1c0d2b --workspace ws --note "DPO says the rota did not cover it"
    """
    from audit_kit.review import reopen, resolve_finding_id

    ctx = context(workspace)
    with people_store(ctx) as (people, _):
        out = reopen(people, resolve_finding_id(people, finding), who(ctx, reviewer), ctx.now, note)
    stdout.print(f"{out.finding.finding_id} is open again" + (f"; revoked {', '.join(out.revoked)}" if out.revoked else ""))


def _rule_row(r: ReviewRule, now: Any) -> dict[str, Any]:
    data = r.to_json()
    data["active"] = r.active(now)
    return data


@findings_app.command("suppressions")
def suppressions_cmd(
    workspace: Path = WorkspaceOption,
    include_inactive: bool = typer.Option(False, "--all", help="Also expired and revoked ones."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """List the suppressions and explanations verdicts left: what each covers, who decided, until when.

    Example: audit-kit findings suppressions --workspace ws --all --format json
    """
    from audit_kit.review import rules

    check_output(output)
    ctx = context(workspace)
    with people_store(ctx, refresh=False) as (people, _):
        found = rules(people, ctx.now, include_inactive)
    rows = [_rule_row(r, ctx.now) for r in found]
    if fmt is OutputFormat.json or output is not None and fmt is OutputFormat.table:
        emit_json(rows, output)
    elif fmt is OutputFormat.csv:
        emit_csv(rows, [*RULE_COLUMNS, "active"], output)
    else:
        emit_table([{**r, "expires_at": (r["expires_at"] or "never")[:16], "created_at": r["created_at"][:16]}
                    for r in rows], ["rule_id", "kind", "detector", "org_id", "user_id", "record", "expires_at",
                                     "created_by", "note"],
                   title=f"{len(rows)} {'rule(s)' if include_inactive else 'in force'}")


@findings_app.command("revoke")
def revoke_cmd(
    rule_id: str = typer.Argument(..., help="The suppression or explanation id (sup-… or exp-…)."),
    note: str = typer.Option(..., "--note", "-n", help="Why it ends now."),
    reviewer: str | None = ReviewerOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """End a suppression or explanation now; the pattern is alerted again from now on.

    Example: audit-kit findings revoke sup-1a2b3c4d5e --workspace ws --note "the rota changed"
    """
    from audit_kit.review import revoke_rule

    ctx = context(workspace)
    with people_store(ctx, refresh=False) as (people, _):
        r = revoke_rule(people, rule_id, who(ctx, reviewer), ctx.now, note)
    stdout.print(f"{r.rule_id} revoked by {r.revoked_by}")


def register(app: typer.Typer) -> None:
    app.add_typer(findings_app, name="findings")
