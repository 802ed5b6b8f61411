"""`audit-kit subject-access`: who has accessed one child's record — for a subject access request."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from audit_kit.cli._common import QuietOption, WorkspaceOption, check_output, is_quiet, stderr
from audit_kit.cli._review import context
from audit_kit.cli.detect import parse_when
from audit_kit.errors import ExitCode, InputError


class SarFormat(str, Enum):
    pdf = "pdf"
    json = "json"
    html = "html"


class SarAudience(str, Enum):
    public = "public"
    restricted = "restricted"


def subject_access(
    record_id: str = typer.Argument(..., help="The child's record id, as the data holder knows it."),
    workspace: Path = WorkspaceOption,
    output: Path = typer.Option(..., "--output", "-o", help="The file to write (PDF, JSON or HTML)."),
    fmt: SarFormat | None = typer.Option(None, "--format", "-f", help="pdf, json or html (default: from -o's "
                                         "suffix, else pdf)."),
    audience: SarAudience = typer.Option(
        SarAudience.public, "--audience", case_sensitive=False,
        help="public (default): the copy for the family — organisations and roles, the child by --reference; "
        "restricted: the holder's file copy — also staff user ids and the record id."),
    reference: str | None = typer.Option(None, "--reference", help="The holder's case reference for the request, "
                                         "shown instead of any record id in the public copy."),
    since: str | None = typer.Option(None, "--since", help="From this date or ISO time (UTC). Default: all the log."),
    until: str | None = typer.Option(None, "--until", help="Up to this date (inclusive) or ISO time."),
    holder: str | None = typer.Option(None, "--holder", help="The data holder's name, for the cover page."),
    quiet: bool = QuietOption,
) -> int:
    """Who has accessed one child's record: every organisation and role that read, searched, printed or
    exported it in the period, when and for what stated purpose, with the findings that touched it.

    The record id goes in; no other child's record comes out. The public copy names no member of staff
    and shows the child by --reference; the restricted copy adds user ids and the record id.

    Example: audit-kit subject-access C0012345 --workspace ws --reference SAR-2026-014 -o sar-2026-014.pdf
    """
    from audit_kit.detectors.registry import REGISTRY
    from audit_kit.review.subject_access import subject_access as build
    from audit_kit.review.subject_access import write_json
    from audit_kit.review.subject_access_view import render_html, render_pdf

    kind = fmt or {".json": SarFormat.json, ".html": SarFormat.html, ".htm": SarFormat.html}.get(
        output.suffix.lower(), SarFormat.pdf)
    check_output(output)
    ctx = context(workspace)
    with ctx.open_workspace(read_only=True) as ws:
        report = build(ws, record_id, ctx.now, since=parse_when(since, "--since"),
                       until=parse_when(until, "--until", end_of_day=True), audience=audience.value,
                       reference=reference, titles={k: v.title for k, v in REGISTRY.items()})
    if kind is SarFormat.json:
        write_json(report, output)
    elif kind is SarFormat.html:
        try:
            output.write_text(render_html(report, holder), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{output}: cannot write ({exc.strerror or exc})") from None
    else:
        render_pdf(report, output, holder)
    if not is_quiet(quiet):
        t = report.totals
        stderr.print(f"{t['organisations']} organisation(s), {t['accesses']} access(es), {t['findings']} finding(s); "
                     f"{audience.value} copy written to {output}")
    return int(ExitCode.OK)


def register(app: typer.Typer) -> None:
    app.command("subject-access")(subject_access)
