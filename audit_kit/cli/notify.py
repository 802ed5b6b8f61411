"""`audit-kit notify`: send what is due now — e-mail digests to each DPO, summaries to Teams or Slack.

A scheduled scan sends the same after each run when `notify:` is configured; these commands send on
demand (or from their own schedule) and show what would go with --dry-run."""

from __future__ import annotations

from pathlib import Path

import typer

from audit_kit.cli._common import ConfigOption, OutputFormat, WorkspaceOption, emit_json, stderr, stdout
from audit_kit.cli._review import context
from audit_kit.errors import ConfigError, ExitCode, WorkspaceError

notify_app = typer.Typer(
    help="Send DPO e-mail digests and Teams/Slack summaries now.\n\n"
    "Example: audit-kit notify digest --workspace ws --config audit-kit.yaml --dry-run",
    no_args_is_help=True,
)


@notify_app.command("digest")
def digest_cmd(
    workspace: Path = WorkspaceOption,
    config: Path | None = ConfigOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the digests due, send nothing, record nothing."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table or json."),
) -> int:
    """Send each DPO a digest of their organisations' new and confirmed findings and overdue actions,
    each item once (configure notify.email and notify.dpos; SMTP login from $AUDIT_KIT_SMTP_USER and
    $AUDIT_KIT_SMTP_PASSWORD or a credentials file). Exit 1 when a digest could not be sent.

    Example: audit-kit notify digest --workspace ws --config audit-kit.yaml
    """
    from audit_kit.review import PeopleStore, sync_findings
    from audit_kit.review.notify import overdue_actions, send_digests
    from audit_kit.store.assessments import load_latest_assessment
    from audit_kit.store.record_access import organisations

    ctx = context(workspace, config, notify=True)
    s = ctx.notify
    if s.smtp is None or not s.dpos:
        raise ConfigError("no e-mail digest is configured: notify.email and notify.dpos (or notify.dpo_file) are "
                          "needed", hint="see docs/review.md, 'E-mail digests'")
    with PeopleStore.open(workspace) as people:
        actions, names = [], {}
        try:
            with ctx.open_workspace(read_only=True) as ws:
                sync_findings(ws, people, ctx.now)
                actions = overdue_actions(load_latest_assessment(ws), ctx.now.date()) if s.overdue_actions else []
                names = {k: v.name for k, v in organisations(ws, sorted(s.dpos)).items()}
        except WorkspaceError as exc:
            stderr.print(f"findings as last published, no overdue actions ({exc.message})")
        digests, result = send_digests(people, s, ctx.now, actions, names, dry_run=dry_run)
    if fmt is OutputFormat.json:
        emit_json({"digests": [{"to": d.address, "organisations": list(d.org_ids), "items": [i.key for i in d.items],
                                "held_back": d.more} for d in digests],
                   "sent": [{"to": a, "items": n} for a, n in result.sent],
                   "failed": [{"to": a, "error": e} for a, e in result.failed], "dry_run": dry_run})
    else:
        for d in digests:
            stdout.print(f"{d.address}: {len(d.items)} item(s) for {', '.join(d.org_ids)}"
                         + (" (dry run)" if dry_run else ""))
        stdout.print("nothing due" if not digests else result.summary() if not dry_run else f"{len(digests)} due")
    return int(ExitCode.FINDINGS if result.failed else ExitCode.OK)


@notify_app.command("chat")
def chat_cmd(
    workspace: Path = WorkspaceOption,
    config: Path | None = ConfigOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the payloads, post nothing, record nothing."),
) -> int:
    """Post a summary of open findings not posted before to Teams and/or Slack (URLs from
    $AUDIT_KIT_TEAMS_WEBHOOK / $AUDIT_KIT_SLACK_WEBHOOK or notify.chat.*_url_file). No user ids or
    record pseudonyms go to chat. Exit 1 when a post failed.

    Example: AUDIT_KIT_TEAMS_WEBHOOK=https://... audit-kit notify chat --workspace ws
    """
    from audit_kit.review import PeopleStore, sync_findings
    from audit_kit.review.notify.chat import FORMATS, post_summaries

    ctx = context(workspace, config, notify=True)
    s = ctx.notify
    channels = [(fmt, url) for fmt, url in (("teams", s.teams_url), ("slack", s.slack_url)) if url]
    if not channels:
        raise ConfigError("no chat webhook configured",
                          hint="set $AUDIT_KIT_TEAMS_WEBHOOK or $AUDIT_KIT_SLACK_WEBHOOK (see docs/review.md)")
    with PeopleStore.open(workspace) as people:
        try:
            with ctx.open_workspace(read_only=True) as ws:
                sync_findings(ws, people, ctx.now)
        except WorkspaceError as exc:
            stderr.print(f"findings as last published ({exc.message})")
        summaries, result = post_summaries(people, channels, ctx.now, s.chat_min_severity, dry_run=dry_run)
    if dry_run:
        emit_json([{fmt: FORMATS[fmt](sm)} for fmt, sm in summaries])
    else:
        stdout.print(result.summary())
    return int(ExitCode.FINDINGS if result.failed else ExitCode.OK)


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")
