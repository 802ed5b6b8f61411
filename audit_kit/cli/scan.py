"""`audit-kit scan`: the scheduled job. Ingest new inbox files, judge the new window, alert once."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path

import typer

from audit_kit.app.scan import ScanOptions, ScanResult, run_scan
from audit_kit.cli._common import QuietOption, WorkspaceOption, emit_json, progress_for, stderr
from audit_kit.errors import ExitCode, InputError
from audit_kit.models.findings import Severity
from audit_kit.scan import EXIT_BUSY, RetryPolicy, parse_duration


class ScanFormat(StrEnum):
    text = "text"
    json = "json"


def parse_replay(text: str) -> tuple[datetime, datetime]:
    """'2026-10-01..2026-10-07' (inclusive days, UTC) -> [since, until)."""
    first, sep, last = text.partition("..")
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if sep else start
    except ValueError:
        raise InputError(
            f"--replay {text!r}: expected FIRST..LAST dates such as 2026-10-01..2026-10-07"
        ) from None
    if end < start:
        raise InputError(f"--replay {text!r}: the last day is before the first")
    return datetime.combine(start, time()), datetime.combine(end, time()) + timedelta(days=1)


def _detector_ids(text: str | None) -> list[str] | None:
    if not text:
        return None
    from audit_kit.detectors import resolve_detectors

    return resolve_detectors([d.strip() for d in text.split(",") if d.strip()])


def exit_code(result: ScanResult, fail_on: Severity | None) -> int:
    """3 a detector failed (a bug, whatever else happened); else 1 new alert at/above --fail-on; else 2 a file was
    rejected or not moved; else 0."""
    if result.detector_errors:
        return int(ExitCode.INTERNAL)
    if fail_on is not None and result.alerts_at_or_above(fail_on):
        return int(ExitCode.FINDINGS)
    if result.count("rejected") or result.move_errors:
        return int(ExitCode.USAGE)
    return int(ExitCode.OK)


def exit_reasons(result: ScanResult, fail_on: Severity | None) -> list[str]:
    """Why the scan exits non-zero, one line each (written to stderr, --quiet or not)."""
    code = exit_code(result, fail_on)
    if code == int(ExitCode.FINDINGS) and fail_on is not None:
        n = len(result.alerts_at_or_above(fail_on))
        return [f"audit-kit scan: exit 1: {n} new alert{'s' * (n != 1)} at or above {fail_on.value}"]
    if code == int(ExitCode.USAGE):
        lines = [f"audit-kit scan: exit 2: {f.name} was rejected: {f.error}" for f in result.files
                 if f.status == "rejected"]
        return lines + [f"audit-kit scan: exit 2: {e}" for e in result.move_errors]
    if code == int(ExitCode.INTERNAL):
        return [f"audit-kit scan: exit 3: detector {d} failed (the others ran; the window is marked judged, "
                f"--replay judges it again): {e}" for d, e in result.detector_errors]
    return []


def _noteworthy(result: ScanResult) -> bool:
    # With --quiet the job stays silent (no cron mail) unless someone should look at something.
    w = result.window
    return bool(
        result.new_alerts or result.count("rejected") or result.move_errors or result.detector_errors or result.queued
        or (w and w.too_late_events)
    )


def scan(
    inbox: Path = typer.Option(..., "--inbox", "-i", help="Directory where new log files land (read recursively)."),
    workspace: Path = WorkspaceOption,
    fail_on: Severity | None = typer.Option(
        None, "--fail-on", case_sensitive=False, help="Exit 1 when a NEW alert is at or above this severity."
    ),
    alerts: Path | None = typer.Option(
        None, "--alerts", help="JSON-lines file alerts are appended to (default WS/alerts.jsonl)."
    ),
    webhook: str | None = typer.Option(
        None, "--webhook", help="POST new alerts here (https, or http to 127.0.0.1); bearer token from "
        "$AUDIT_KIT_WEBHOOK_TOKEN. Undelivered alerts stay queued for the next run.",
    ),
    lateness: str = typer.Option(
        "2d", "--lateness", help="How late an event may arrive and still re-open its day (e.g. 48h, 2d, 90m)."
    ),
    min_severity: Severity = typer.Option(
        Severity.LOW, "--min-severity", case_sensitive=False, help="Findings below this are stored, not alerted."
    ),
    move_to: Path | None = typer.Option(
        None, "--move-to", help="Move each processed inbox file here (relative path kept)."
    ),
    baseline: bool = typer.Option(
        False, "--baseline", help="Ingest, then mark everything as judged history: no detection, no alerts. "
        "Run once after loading history so the first real scan alerts only on what is new.",
    ),
    replay: str | None = typer.Option(
        None, "--replay", help="Also re-judge these event days, FIRST..LAST (UTC); alerts already raised "
        "are not raised again.",
    ),
    since: str | None = typer.Option(
        None, "--since", help="First scan of a workspace that already holds history: judge it from this date "
        "or ISO time (UTC). Without it that history is taken as baseline and only what arrives after it is judged.",
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Detector settings (default: ./audit-kit.yaml, else WS/audit-kit.yaml)."
    ),
    detectors: str | None = typer.Option(
        None, "--detectors", help="Comma-separated detector ids to run (default: all enabled)."
    ),
    context: int | None = typer.Option(
        None, "--context-days", min=1, max=365, help="Days the detectors see, ending with the new ones (default: "
        "the config's window_days, 14, as a batch detection sees them; never fewer than log_gap needs, 4). Fewer "
        "is cheaper but weighs only those days. Only findings reaching the new days are alerted.",
    ),
    webhook_attempts: int = typer.Option(4, "--webhook-attempts", min=1, help="POST attempts per batch per run."),
    webhook_backoff: float = typer.Option(
        1.0, "--webhook-backoff", min=0.0, help="Seconds before the 2nd attempt; doubles each retry (max 30)."
    ),
    output_format: ScanFormat = typer.Option(
        ScanFormat.text, "--format", "-f", help="text: one summary line (cron mail); json: the full result."
    ),
    quiet: bool = QuietOption,
) -> int:
    """Ingest new inbox files, judge the new window against history, and raise each alert once.

    Example (crontab, hourly):

        17 * * * *  audit-kit scan -w /srv/audit/ws --inbox /srv/audit/inbox --move-to /srv/audit/done --fail-on high --quiet

    Prints one summary line (with --quiet, only when there is something to look at).

    The first scan of a workspace that already holds history (loaded with `audit-kit ingest`) takes it as baseline and says so; --since DATE judges it from DATE instead.

    Exit codes: 0 ok; 1 a new alert at or above --fail-on; 2 bad input (a rejected file, a bad option); 3 internal error or a detector failed (named on stderr; this wins over 1 and 2); 75 another scan is running, this one did nothing. The reason for a non-zero exit is written to stderr, with --quiet too. See docs/scheduling.md.
    """
    if baseline and replay:
        raise InputError("--baseline and --replay cannot be combined: --baseline judges nothing")
    if baseline and since:
        raise InputError("--baseline and --since cannot be combined: --baseline judges nothing")
    from audit_kit.app.context import resolve
    from audit_kit.cli.detect import parse_when

    # The same lookup as `detect`: --config, else $AUDIT_KIT_CONFIG, ./audit-kit.yaml, WS/audit-kit.yaml.
    ctx = resolve(workspace, config, notify=True)  # digests and chat after the run (docs/review.md)
    options = ScanOptions(
        inbox=inbox,
        alerts_file=alerts,
        webhook=webhook,
        lateness=parse_duration(lateness),
        min_severity=min_severity,
        move_to=move_to,
        baseline=baseline,
        replay=parse_replay(replay) if replay else None,
        detectors=_detector_ids(detectors),
        context_days=context,
        retry=RetryPolicy(attempts=webhook_attempts, backoff=webhook_backoff),
        since=parse_when(since, "--since"),
    )
    progress = progress_for(quiet)
    try:
        result = run_scan(ctx, options, progress=progress)
    finally:
        progress.finish()
    if result.publish_error:
        stderr.print(f"warning: {result.publish_error}")
    if output_format is ScanFormat.json:
        emit_json(result.to_json())
    elif not quiet or _noteworthy(result):
        typer.echo(result.summary())
    # The reason for a non-zero exit always reaches stderr, with --quiet too: cron mails it.
    for line in exit_reasons(result, fail_on):
        typer.echo(line, err=True)
    return exit_code(result, fail_on)


def register(app: typer.Typer) -> None:
    """Add `scan` to the CLI."""
    app.command("scan")(scan)


__all__ = ["EXIT_BUSY", "register"]
