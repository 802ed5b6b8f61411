"""One scheduled scan, start to finish: lock, ingest the inbox, judge the new window, alert once, deliver.

The order of durable steps is what makes a killed scan safe to rerun:

1. each new inbox file is ingested in its own transaction (ingest's guarantee);
2. detectors run over the window of not-yet-judged batches, writing nothing;
3. ONE transaction stores the findings, inserts the alerts never raised before, queues them for every
   destination, marks the batches judged and advances the event watermark;
4. destinations are then flushed from the outbox (the alerts file deduplicated by alert_id).

A kill before 3 leaves the batches pending, so the rerun judges the same window and raises the same
alerts; a kill after 3 leaves deliveries queued, so the rerun finishes them and reports the alerts.

(Why this module runs past 400 lines: the scan's durable steps and their order are its crash-safety argument;
splitting the steps across modules would hide that order.)
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from audit_kit.app.context import RunContext
from audit_kit.app.readmodels import publish_after_write
from audit_kit.config import AuditConfig
from audit_kit.detectors import run_detectors
from audit_kit.detectors.log_gap import LogGapParams
from audit_kit.errors import AuditKitError, InputError, WorkspaceError
from audit_kit.ingest import ingest_files
from audit_kit.models.findings import Finding, Severity
from audit_kit.progress import NULL_PROGRESS, Progress
from audit_kit.review import alerting as review_alerting
from audit_kit.scan import inbox as inbox_mod
from audit_kit.scan.alerts import Alert, insert_new_alerts, load_alerts, naive_utc
from audit_kit.scan.lock import ScanBusyError, ScanLock
from audit_kit.scan.outbox import DeliveryResult, JsonlSink, Sink, flush, queue, queued_elsewhere
from audit_kit.scan.webhook import RetryPolicy, WebhookSink
from audit_kit.scan.window import Window, floor_day, new_event_window
from audit_kit.store import scans
from audit_kit.store.findings import store_findings
from audit_kit.store.ingest import event_span
from audit_kit.store.workspace import DB_FILE, Workspace

ALERTS_FILE = "alerts.jsonl"
# Fault injection for tests (RunContext.scan_fault, from $AUDIT_KIT_SCAN_FAULT): kill@POINT makes the scan
# SIGKILL itself there (to prove a kill anywhere is safe); sleep@POINT=SECONDS or wait@POINT=FILE hold
# it there (overlap tests).
FAULT_POINTS = ("start", "ingested_one", "ingested", "detected", "committed", "sent", "finished")


@dataclass
class ScanOptions:
    """What one scan does. Only `inbox` is required; defaults suit an hourly or nightly cron job."""

    inbox: Path
    alerts_file: Path | None = None  # default WS/alerts.jsonl
    webhook: str | None = None
    lateness: timedelta = timedelta(days=2)
    min_severity: Severity = Severity.LOW  # findings below this are stored but never alerted
    move_to: Path | None = None
    baseline: bool = False  # mark everything present as judged history: no detection, no alerts
    replay: tuple[datetime, datetime] | None = None  # also judge this event-time period
    detectors: list[str] | None = None  # None: every detector the config enables
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    context_days: int | None = None  # days the detectors see, ending with the new ones (None: see context_days)
    # The first scan of a workspace that already holds history takes that history as baseline and judges
    # only what arrives after it; `since` makes it judge the history from this instant (UTC) instead.
    since: datetime | None = None


@dataclass
class FileOutcome:
    name: str
    status: str  # ingested | known | rejected | skipped_rejected
    stored: int = 0
    quarantined: int = 0
    error: str | None = None
    moved_to: str | None = None


@dataclass(frozen=True)
class History:
    """The events a workspace held before its first scan: taken as baseline up to `until`, or judged from
    `judged_from` when the scan was given --since."""

    events: int
    first: datetime | None
    last: datetime | None
    judged_from: datetime | None = None


@dataclass
class ScanResult:
    """What a scan did: files, window, findings, alerts raised, deliveries. The CLI prints this."""

    run_id: str
    files: list[FileOutcome] = field(default_factory=list)
    window: Window | None = None
    findings: int = 0
    new_alerts: list[Alert] = field(default_factory=list)
    recovered_runs: list[str] = field(default_factory=list)
    detector_errors: list[tuple[str, str]] = field(default_factory=list)
    skipped_detectors: list[tuple[str, str]] = field(default_factory=list)
    deliveries: list[DeliveryResult] = field(default_factory=list)
    queued_elsewhere: dict[str, int] = field(default_factory=dict)
    baseline: bool = False
    history: History | None = None  # what a first scan took as history
    suppressed: int = 0  # findings the review suppressed: stored, never alerted (docs/review.md)
    review_notes: list[str] = field(default_factory=list)  # digests, chat, review-state warnings
    publish_error: str | None = None  # the web app's read models could not be updated (the scan still counts)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def move_errors(self) -> list[str]:
        """Messages for processed files that could not be moved to --move-to."""
        return [f.error for f in self.files if f.error and f.status in ("ingested", "known")]

    @property
    def events_stored(self) -> int:
        return sum(f.stored for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def queued(self) -> int:
        return sum(d.queued for d in self.deliveries) + sum(self.queued_elsewhere.values())

    def alerts_at_or_above(self, severity: Severity) -> list[Alert]:
        return [a for a in self.new_alerts if a.severity >= severity]

    def summary(self) -> str:
        """One line for cron mail: files, events, window, new alerts by severity, delivery state."""
        parts = []
        new, known, rejected = self.count("ingested"), self.count("known"), self.count("rejected")
        if new or rejected:
            parts.append(
                f"{new} new file{'s' * (new != 1)} ({self.events_stored:,} events"
                + (f", {self.rows_quarantined:,} rows quarantined" if self.rows_quarantined else "")
                + ")"
                + (f", {rejected} rejected" if rejected else "")
            )
        else:
            parts.append("no new files" + (f" ({known} already ingested)" if known else ""))
        if self.move_errors:
            parts.append(f"{len(self.move_errors)} file(s) not moved: {self.move_errors[0]}")
        set_aside = self.count("skipped_rejected")
        if set_aside:
            parts.append(f"{set_aside} rejected file{'s' * (set_aside != 1)} left in the inbox")
        h = self.history
        if h is not None and h.last is not None:
            if h.judged_from is None:
                parts.append(f"first scan: {h.events:,} events already in the workspace (to {h.last:%Y-%m-%d %H:%M} "
                             "UTC) taken as history, not judged (--since DATE judges them from DATE)")
            else:
                parts.append(f"first scan: {h.events:,} events already in the workspace judged from "
                             f"{h.judged_from:%Y-%m-%d %H:%M} UTC")
        w = self.window
        if self.baseline:
            parts.append("marked as baseline history (no alerts)")
        elif w and w.since and w.until:
            start = (w.judged_since or w.since).date()
            last = (w.until - timedelta(days=1)).date()
            span = start.isoformat() + ("" if last == start else f"..{last.isoformat()}")
            parts.append(f"judged {span}")
        if w and w.late_events:
            parts.append(f"{w.late_events:,} late events re-judged")
        if w and w.too_late_events:
            parts.append(f"{w.too_late_events:,} events later than --lateness (replay to judge)")
        if self.new_alerts:
            by: dict[Severity, int] = {}
            for a in self.new_alerts:
                by[a.severity] = by.get(a.severity, 0) + 1
            detail = ", ".join(f"{by[s]} {s.value}" for s in sorted(by, key=lambda s: -s.rank))
            raised = sum(1 for a in self.new_alerts if "escalated_from" in a.evidence)
            detail += f"; {raised} escalated from an earlier alert" if raised else ""
            parts.append(f"{len(self.new_alerts)} new alert{'s' * (len(self.new_alerts) != 1)} ({detail})")
        elif not self.baseline:
            parts.append("0 new alerts")
        if self.suppressed:
            parts.append(f"{self.suppressed} suppressed by review")
        parts += self.review_notes
        for d in self.deliveries:
            if d.error or d.queued:
                parts.append(f"{d.queued} queued for {d.label}" + (f" ({d.error})" if d.error else ""))
        for label, n in self.queued_elsewhere.items():
            parts.append(f"{n} queued for {label} (not configured in this run)")
        if self.detector_errors:
            parts.append(f"{len(self.detector_errors)} detector error(s): "
                         + ", ".join(d for d, _ in self.detector_errors))
        return "audit-kit scan: " + "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        w = self.window
        return {
            "run_id": self.run_id,
            "summary": self.summary(),
            "files": [f.__dict__ for f in self.files],
            "events_stored": self.events_stored,
            "rows_quarantined": self.rows_quarantined,
            "baseline": self.baseline,
            "history": None if self.history is None else {
                "events": self.history.events,
                "first": self.history.first.isoformat() + "Z" if self.history.first else None,
                "last": self.history.last.isoformat() + "Z" if self.history.last else None,
                "judged_from": self.history.judged_from.isoformat() + "Z" if self.history.judged_from else None,
            },
            "window": None if not w or not w.since else {
                "since": w.since.isoformat() + "Z", "until": w.until.isoformat() + "Z" if w.until else None,
                "judged_since": w.judged_since.isoformat() + "Z" if w.judged_since else None,
                "new_events": w.new_events, "late_events": w.late_events, "too_late_events": w.too_late_events,
            },
            "findings": self.findings,
            "new_alerts": [a.to_json() for a in self.new_alerts],
            "recovered_runs": self.recovered_runs,
            "detector_errors": [{"detector": d, "error": e} for d, e in self.detector_errors],
            "skipped_detectors": [{"detector": d, "reason": r} for d, r in self.skipped_detectors],
            "deliveries": [d.__dict__ for d in self.deliveries],
            "queued_elsewhere": self.queued_elsewhere,
            "suppressed": self.suppressed,
            "review": self.review_notes,
        }


def _killpoint(fault: str | None, name: str) -> None:
    if not fault:
        return
    action, _, where = fault.partition("@")
    point, _, arg = where.partition("=")
    if point != name:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "sleep":
        time.sleep(float(arg or 1))
    elif action == "wait":  # until the file named by arg exists (at most a minute)
        deadline = time.monotonic() + 60
        while not os.path.exists(arg) and time.monotonic() < deadline:
            time.sleep(0.05)


def context_days(cfg: AuditConfig, detectors: list[str] | None = None) -> int:
    """Days a scan's detectors see by default, ending with the last new day: the batch window
    (`window_days`, 14), so a behaviour spread over days (a user's second and third day of it, a shared
    account seen on several days) weighs as a batch detection of the fortnight weighs it; only findings that
    reach the new days are alerted, and one that grows more severe is alerted again (an escalation).
    """
    return max(cfg.window_days, min_context_days(cfg, detectors))


def min_context_days(cfg: AuditConfig, detectors: list[str] | None = None) -> int:
    """The fewest days a scan's detectors may see: what log_gap needs (`min_gap_days` silent working days,
    with a weekend among them), else one."""
    det = cfg.detector("log_gap")
    if not det.enabled or (detectors is not None and "log_gap" not in detectors):
        return 1
    return max(1, LogGapParams(**det.params).min_gap_days + 2)


def run_scan(
    ctx: RunContext,
    options: ScanOptions,
    progress: Progress = NULL_PROGRESS,
) -> ScanResult:
    """Run one scan of the context's workspace (see module doc). Raises ScanBusyError if another scan
    holds the lock."""
    workspace = ctx.workspace
    if not (workspace / DB_FILE).exists():
        raise WorkspaceError(
            f"{workspace}: no audit-kit workspace here",
            hint=f"load the reference tables first: audit-kit ingest DATASET_DIR --workspace {workspace}",
        )
    alerts_path = options.alerts_file or workspace / ALERTS_FILE
    file_sink = JsonlSink(alerts_path)
    file_sink.check()
    sinks: list[Sink] = [file_sink]
    if options.webhook:
        sinks.append(WebhookSink(options.webhook, options.retry, token=ctx.webhook_token))
    _refuse_overlap(options.inbox, workspace)
    inbox_mod.list_inbox(options.inbox)  # fail on a bad --inbox before taking the lock
    with ScanLock(workspace):
        try:
            ws = ctx.open_workspace()
        except WorkspaceError as exc:
            if "in use" not in exc.message:
                raise
            # Another audit-kit command (ingest, detect…) holds the store: for a scheduler that is
            # the same as an overlapping scan, try again next time.
            raise ScanBusyError(exc.message + "; this scan did nothing", hint=exc.hint) from None
        try:
            return _scan(ctx, ws, options, sinks, progress)
        finally:
            ws.close()


def _refuse_overlap(inbox: Path, workspace: Path) -> None:
    # A scan whose inbox holds its own workspace would ingest its store, quarantine files and alerts,
    # and fail the same way on every run; one whose workspace is inside the inbox likewise.
    try:
        i, w = inbox.resolve(), workspace.resolve()
    except OSError:
        return  # the usual checks below name what is wrong with the paths
    if i == w or w in i.parents or i in w.parents:
        raise InputError(
            f"--inbox {inbox}: overlaps the workspace {workspace}; a scan would read its own store",
            hint="point --inbox at the directory where new log files land, outside the workspace",
        )


def _scan(ctx: RunContext, ws: Workspace, options: ScanOptions, sinks: list[Sink], progress: Progress) -> ScanResult:
    fault = ctx.scan_fault
    run_id = scans.utcnow().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    result = ScanResult(run_id, baseline=options.baseline)
    first = scans.event_watermark(ws) is None and not scans.scanned_any(ws)
    if options.since is not None and not first:
        raise InputError("--since applies to the first scan of a workspace only; this one has been scanned "
                         f"up to {scans.event_watermark(ws) or 'its history'}",
                         hint="use --replay FIRST..LAST to judge earlier days again")
    # What the workspace held before its first scan (ingested by `audit-kit ingest`): history, not news.
    history = scans.pending_batches(ws) if first and not options.baseline else []
    with ws.transaction():
        scans.mark_killed_runs(ws)
        scans.start_run(ws, run_id)
    _killpoint(fault, "start")
    try:
        result.files = _ingest_inbox(ws, options, run_id, progress, fault)
        _killpoint(fault, "ingested")
        batches = scans.pending_batches(ws)
        if options.baseline:
            _mark_baseline(ws, batches, run_id)
        else:
            if history:
                result.history = _take_history(ws, history, options.since, run_id)
                if options.since is None:
                    batches = [b for b in batches if b not in set(history)]
            _judge(ctx, ws, options, batches, sinks, run_id, result, progress)
        result.recovered_runs = scans.unreported_alert_runs(ws)
        if result.recovered_runs:
            # Alerts committed by a scan killed before it could report them are reported now, once.
            recovered = load_alerts(ws, run_ids=result.recovered_runs, min_severity=options.min_severity)
            seen = {a.alert_id for a in result.new_alerts}
            result.new_alerts = sorted(
                result.new_alerts + [a for a in recovered if a.alert_id not in seen],
                key=lambda a: (a.first_alerted, a.alert_id),
            )
        result.deliveries = _deliver(ws, sinks, fault)
        result.queued_elsewhere = queued_elsewhere(ws, [s.sink_id for s in sinks])
        if not options.baseline:
            result.review_notes += review_alerting.notify_after_scan(ws, ctx.notify, ctx.now)
        _killpoint(fault, "finished")
        _finish(ws, run_id, result, "done")
        # What `audit-kit serve` shows: published while this scan still holds the workspace (docs/web.md).
        result.publish_error = publish_after_write(ws, ctx.catalogues)
    except BaseException as exc:
        # Record the failure for the history (best effort); the batches stay pending for the next run.
        try:
            _finish(ws, run_id, result, "failed", message=str(exc)[:500])
        except Exception:  # noqa: BLE001 - the original error is the one to report
            pass
        raise
    return result


def _ingest_inbox(
    ws: Workspace, options: ScanOptions, run_id: str, progress: Progress, fault: str | None
) -> list[FileOutcome]:
    exclude = options.move_to if options.move_to else None
    files = inbox_mod.hash_inbox(ws, options.inbox, exclude)
    ingested = inbox_mod.ingested_hashes(ws)
    rejected = scans.rejected_hashes(ws)
    outcomes: list[FileOutcome] = []
    progress.start("Scanning inbox", total=len(files))
    for f in files:
        progress.advance()
        if f.sha256 in rejected:
            outcomes.append(FileOutcome(f.name, "skipped_rejected"))
            continue
        if f.sha256 in ingested:
            outcome = FileOutcome(f.name, "known")
        else:
            try:
                report = ingest_files(ws, [f.path])
            except (AuditKitError, duckdb.Error) as exc:
                # One unreadable file must not block every later scan: it is set aside (and reported)
                # until its content changes; ingest rolled it back whole.
                outcome = FileOutcome(f.name, "rejected", error=str(exc).splitlines()[0][:500])
                _record_file(ws, f, outcome, run_id)
                outcomes.append(outcome)
                continue
            outcome = FileOutcome(f.name, "ingested", stored=report.stored, quarantined=report.quarantined)
            ingested.add(f.sha256)
            _killpoint(fault, "ingested_one")
        if options.move_to:
            try:
                outcome.moved_to = str(inbox_mod.move_processed(f, options.inbox, options.move_to))
            except AuditKitError as exc:
                # Tidying failed, not the scan: judge and alert anyway, report it (exit 2).
                outcome.error = str(exc)
        _record_file(ws, f, outcome, run_id)
        outcomes.append(outcome)
    return outcomes  # the caller finishes the progress display (detection reuses it)


def _record_file(ws: Workspace, f: inbox_mod.InboxFile, outcome: FileOutcome, run_id: str) -> None:
    scans.record_file(ws, scans.SeenFile(f.sha256, f.name, f.size, f.mtime_ns, outcome.status, outcome.error,
                                         outcome.moved_to), run_id)


def _advance_watermark(ws: Workspace, candidate: datetime | None) -> None:
    current = scans.event_watermark(ws)
    if candidate is not None and (current is None or candidate > current):
        scans.set_state(ws, scans.EVENT_WATERMARK, candidate.isoformat())


def _mark_baseline(ws: Workspace, batches: list[str], run_id: str) -> None:
    latest = event_span(ws)[1]
    with ws.transaction():
        scans.mark_batches(ws, batches, run_id)
        _advance_watermark(ws, latest)


def _take_history(ws: Workspace, history: list[str], since: datetime | None, run_id: str) -> History:
    """A first scan of a workspace with history: without `since`, mark the history judged and start the
    watermark at its end (one transaction); with it, leave the history to be judged from `since`."""
    span = scans.batch_span(ws, history, None, None)
    first = scans.batch_first(ws, history)
    if since is None:
        with ws.transaction():
            scans.mark_batches(ws, history, run_id)
            _advance_watermark(ws, span.latest)
    return History(span.count, first, span.latest, since)


def _judge(
    ctx: RunContext,
    ws: Workspace,
    options: ScanOptions,
    batches: list[str],
    sinks: list[Sink],
    run_id: str,
    result: ScanResult,
    progress: Progress,
) -> None:
    fault = ctx.scan_fault
    asked = options.context_days or context_days(ctx.config, options.detectors)
    min_days = max(asked, min_context_days(ctx.config, options.detectors))
    window = new_event_window(ws, batches, scans.event_watermark(ws), options.lateness, min_days)
    since, until, judged = window.since, window.until, window.judged_since
    if options.since is not None and since is not None and until is not None:
        # A first scan told where to start judging the history: nothing before it is judged.
        since, judged = max(since, floor_day(options.since)), max(judged or since, options.since)
        if since >= until:
            since = until = judged = None
        window = Window(since, until, judged, window.new_events, window.late_events, window.too_late_events,
                        window.max_timestamp)
    if options.replay:
        r_since, r_until = options.replay
        since = r_since if since is None else min(since, r_since)
        until = r_until if until is None else max(until, r_until)
        judged = r_since if judged is None else min(judged, r_since)
        window = Window(since, until, judged, window.new_events, window.late_events, window.too_late_events,
                        window.max_timestamp)
    result.window = window
    findings: list[Finding] = []
    if since is not None and until is not None:
        # Users earlier scans alerted for behaviour inside this context keep their places in the alert budget:
        # every scan re-ranks the window, and a budget's worth of new users a day would add up.
        run = run_detectors(
            ws, ctx.config, since=since, until=until, detectors=options.detectors,
            progress=progress, store=False, alerted_before=scans.alerted_users(ws, since, Severity.MEDIUM),
        )
        # Days before `judged` are context (judged by earlier runs): a finding must reach the new days.
        findings = [
            f for f in run.findings
            if f.severity >= options.min_severity
            and (f.last_seen is None or judged is None or naive_utc(f.last_seen) >= judged)
        ]
        result.findings = len(findings)
        result.detector_errors = list(run.errors)
        result.skipped_detectors = list(run.skipped)
    _killpoint(fault, "detected")
    # The review's verdicts, judged on the run context's clock: suppressed findings are stored, never alerted.
    review, problem = review_alerting.triage_for_scan(ws, findings, ctx.now)
    result.suppressed = len(review.suppressed)
    result.review_notes += [problem] if problem else []
    now = scans.utcnow()
    span = (since, until) if since and until else None
    with ws.transaction():
        if findings:
            store_findings(ws, findings, run_id, now)
        new_ids = insert_new_alerts(ws, review.alertable(findings), run_id, now, span)
        new_ids = sorted(new_ids + review_alerting.reopened_alerts(ws, review, run_id, now, span))
        queue(ws, new_ids, sinks)
        scans.mark_batches(ws, batches, run_id)
        _advance_watermark(ws, window.max_timestamp)
    _killpoint(fault, "committed")
    if findings:
        _, problem = review_alerting.publish_scan(ws, findings, run_id, ctx.now)
        result.review_notes += [problem] if problem else []
    result.new_alerts = load_alerts(ws, alert_ids=new_ids) if new_ids else []


def _deliver(ws: Workspace, sinks: list[Sink], fault: str | None) -> list[DeliveryResult]:
    results = []
    for sink in sinks:
        results.append(flush(ws, sink, after_send=lambda: _killpoint(fault, "sent")))
    return results


def _finish(ws: Workspace, run_id: str, result: ScanResult, status: str, message: str | None = None) -> None:
    w = result.window
    outcome = scans.RunOutcome(
        status, result.count("ingested"), result.count("known"), result.count("rejected"), result.events_stored,
        result.rows_quarantined, w.since if w else None, w.until if w else None, w.new_events if w else 0,
        w.late_events if w else 0, w.too_late_events if w else 0, result.findings, len(result.new_alerts),
        sum(d.delivered for d in result.deliveries), result.queued, message or result.summary(),
    )
    with ws.transaction():
        scans.finish_run(ws, run_id, outcome, result.recovered_runs)
