"""The report library API: national risk assessment, one DPO pack, every pack at once.

(Why this module runs past 400 lines: the parallel pack machinery — batches, spawned workers, per-body
failures — lives beside the entry points that use it, because each spawned worker imports this one
module and the tests replace its builders here; everything a report *says* is in facts.py and
sections/, which are small.)

Flow: sources (engine aggregates) → context (typed view models) → Jinja (autoescaped HTML) →
record-id guard → WeasyPrint (packaged assets only) → file. For every pack at once, shared facts
(assessment, scores) are computed once; worker processes then build and lay out whole packs over
their own read-only connection, or, when the caller holds the workspace read-write, only lay out
PDFs that were built here.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from audit_kit.catalogue import SHIPPED, CatalogueLibrary
from audit_kit.config import AuditConfig
from audit_kit.errors import AuditKitError, ExitCode, InputError
from audit_kit.graph.window import Window
from audit_kit.models.assessment import NationalAssessment
from audit_kit.progress import NULL_PROGRESS, Progress
from audit_kit.report import facts as report_facts
from audit_kit.report.facts import MAX_FINDINGS_PACK, LimitationInputs, PackFacts
from audit_kit.report.figures import EventSlice, national_figures, org_figures, pack_fits, pack_window
from audit_kit.report.mapping import framework_mapping
from audit_kit.report.models import Audience, ReportFormat
from audit_kit.report.national import build_national, build_public
from audit_kit.report.pack import build_pack
from audit_kit.report.pool import EarlyPool, shared
from audit_kit.report.render import (
    NATIONAL_TEMPLATE,
    ORG_PACK_TEMPLATE,
    PUBLIC_TEMPLATE,
    check_template_dir,
    html_to_pdf,
    render_html,
)
from audit_kit.report.safety import RecordIdIndex, guard_record_ids, record_id_index
from audit_kit.report.scores import OrgScoreData, load_scores
from audit_kit.store.coverage import OrgRow, organisations_with_activity
from audit_kit.store.findings import (
    EMPTY_COUNTS,
    FindingCounts,
    detection_runs,
    finding_counts,
    finding_counts_by_org,
    top_findings,
    top_findings_by_org,
)
from audit_kit.store.workspace import Workspace


def _audience(value: str | Audience) -> Audience:
    try:
        return Audience(value)
    except ValueError:
        raise InputError(f"audience {value!r}: expected one of restricted, public") from None


def _format(value: str | ReportFormat) -> ReportFormat:
    try:
        return ReportFormat(value)
    except ValueError:
        raise InputError(f"format {value!r}: expected one of pdf, html") from None


def _check_output(out: Path) -> None:
    """Fail before the expensive work when the report could not be written to `out`."""
    if out.is_dir():
        raise InputError(f"{out}: is a directory; give a file name (or use --all-orgs for a directory)")
    parent = out.parent
    if not parent.exists():
        raise InputError(f"{parent}: no such directory to write {out.name} into", hint="create it first")
    if not parent.is_dir():
        raise InputError(f"{out}: cannot write the report here ({parent} is not a directory)")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise InputError(f"{out}: cannot write the report here (permission denied)")


def _write(html: str, out: Path, fmt: ReportFormat) -> Path:
    try:
        if fmt is ReportFormat.HTML:
            out.write_text(html, encoding="utf-8")
        else:
            html_to_pdf(html, out)
    except OSError as exc:  # a path that cannot be written: the user's to fix
        raise InputError(f"{out}: cannot write the report here ({exc.strerror or exc})") from None
    return out


def national_html(
    ws: Workspace,
    audience: str | Audience = Audience.RESTRICTED,
    reviewer: str | None = None,
    assessment: NationalAssessment | None = None,
    today: date | None = None,
    progress: Progress = NULL_PROGRESS,
    *,
    config: AuditConfig,
    catalogues: CatalogueLibrary = SHIPPED,
    templates: Path | None = None,
    limits: LimitationInputs | None = None,
) -> str:
    """The national risk assessment (restricted) or the public summary (public) as self-contained HTML.

    `today` is the date of issue: every due date counts from it (default: today). `config` is the run's
    configuration (the graphs' window); `catalogues` where the assessment's checklist is found;
    `templates` an organisation's template directory; `limits` the optional inputs of the limitations
    section (active suppressions, who used audit-kit)."""
    aud = _audience(audience)
    user_dir = check_template_dir(templates)
    progress.start("Gathering report data", total=4)
    if assessment is None:
        assessment = report_facts.latest(ws)
    progress.advance()
    scores = load_scores(ws, assessment, catalogues)
    progress.advance()
    public = aud is Audience.PUBLIC
    figures = [] if public else national_figures(ws, aud, config)
    progress.advance()
    facts = report_facts.gather_national(ws, aud, today or date.today(), reviewer, assessment, scores, figures,
                                         framework_mapping(assessment, catalogues), limits)
    if public:
        html = render_html(PUBLIC_TEMPLATE, build_public(facts), user_dir)
    else:
        html = render_html(NATIONAL_TEMPLATE, build_national(facts), user_dir)
    (html,), _ = guard_record_ids(ws, [html], aud is Audience.RESTRICTED)
    progress.advance()
    return html


def render_national(
    ws: Workspace,
    out: Path,
    fmt: str = "pdf",
    audience: str = "restricted",
    reviewer: str | None = None,
    progress: Progress = NULL_PROGRESS,
    assessment: NationalAssessment | None = None,
    today: date | None = None,
    *,
    config: AuditConfig,
    catalogues: CatalogueLibrary = SHIPPED,
    templates: Path | None = None,
    limits: LimitationInputs | None = None,
) -> Path:
    """Render the national risk assessment (or, for the public audience, the public summary) to `out`.

    Uses `assessment` if given, else the latest one stored in the workspace; sections whose source
    is empty say so in the report. Raises InputError for a bad audience, format, output path or template.
    """
    fmt_ = _format(fmt)
    _check_output(Path(out))
    html = national_html(ws, audience, reviewer, assessment, today, progress, config=config, catalogues=catalogues,
                         templates=templates, limits=limits)
    progress.start("Laying out the report", total=None)
    path = _write(html, Path(out), fmt_)
    progress.finish()
    return path


def _org_row(ws: Workspace, org_id: str) -> OrgRow:
    orgs = {o.org_id: o for o in organisations_with_activity(ws)}
    if org_id not in orgs:
        known = ", ".join(sorted(orgs)[:10]) + (" …" if len(orgs) > 10 else "")
        raise InputError(
            f"organisation {org_id!r} is not in the workspace",
            hint=f"known organisations: {known}" if orgs else "the workspace has no organisations; ingest first",
        )
    return orgs[org_id]


def org_pack_html(
    ws: Workspace,
    org_id: str,
    audience: str | Audience = Audience.RESTRICTED,
    assessment: NationalAssessment | None = None,
    today: date | None = None,
    *,
    config: AuditConfig,
    catalogues: CatalogueLibrary = SHIPPED,
    templates: Path | None = None,
) -> str:
    """One organisation's DPO pack as self-contained HTML (guarded)."""
    return _pack_htmls(ws, [_org_row(ws, org_id)], _audience(audience), assessment, today, config, catalogues,
                       check_template_dir(templates))[0]


def _job(ws: Workspace, aud: Audience, fmt: ReportFormat, assessment: NationalAssessment | None,
         today: date | None, config: AuditConfig, catalogues: CatalogueLibrary, templates: Path | None,
         guard: RecordIdIndex | None = None, window: Window | None = None,
         fits: pd.DataFrame | None = None) -> _PackJob:
    if assessment is None:
        assessment = report_facts.latest(ws)
    return _PackJob(
        str(ws.path), aud, fmt, assessment, report_facts.previous_of(ws, assessment),
        load_scores(ws, assessment, catalogues), today or date.today(), config,
        tuple(detection_runs(ws)) if ws.has_table("detection_runs") else (), report_facts.action_states(ws),
        templates, guard, window, fits,
    )


def _pack_htmls(
    ws: Workspace,
    orgs: list[OrgRow],
    aud: Audience,
    assessment: NationalAssessment | None,
    today: date | None,
    config: AuditConfig,
    catalogues: CatalogueLibrary,
    templates: Path | None,
) -> list[str]:
    job = _job(ws, aud, ReportFormat.HTML, assessment, today, config, catalogues, templates)
    htmls = [job.html(ws, _PackTask(org, None, None, None, "")) for org in orgs]
    guarded, _ = guard_record_ids(ws, htmls, aud is Audience.RESTRICTED)
    return guarded


def render_org_pack(
    ws: Workspace,
    org_id: str,
    out: Path,
    fmt: str = "pdf",
    audience: str = "restricted",
    assessment: NationalAssessment | None = None,
    today: date | None = None,
    *,
    config: AuditConfig,
    catalogues: CatalogueLibrary = SHIPPED,
    templates: Path | None = None,
) -> Path:
    """Render one organisation's DPO pack to `out`. Raises InputError for an unknown org."""
    fmt_ = _format(fmt)
    _check_output(Path(out))
    html = org_pack_html(ws, org_id, audience, assessment, today, config=config, catalogues=catalogues,
                         templates=templates)
    return _write(html, Path(out), fmt_)


def pack_filename(org_id: str, fmt: str, suffix: str = "dpo-pack") -> str:
    """File name of an organisation's pack: its id made safe for any filesystem, and unique.

    An id that had to be changed to be safe (`GP01.`, `_LA01`, `a/b`) gets a short hash of the real id,
    so it can never take the file name of another body whose id is already safe (`GP01`, `LA01`).
    """
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in org_id).strip("._") or "org"
    if safe != org_id:
        safe += "-" + hashlib.sha256(org_id.encode("utf-8")).hexdigest()[:8]
    return f"{safe}-{suffix}.{fmt}"


def pack_paths(out_dir: Path, org_ids: list[str], fmt: str, suffix: str = "dpo-pack") -> dict[str, Path]:
    """Every organisation's file in `out_dir`; InputError if two would share a name (never overwrite)."""
    paths: dict[str, Path] = {}
    seen: dict[str, str] = {}
    for org_id in org_ids:
        name = pack_filename(org_id, fmt, suffix)
        key = name.lower()  # case-insensitive filesystems
        if key in seen:
            raise InputError(f"organisations {seen[key]!r} and {org_id!r} would both be written to {out_dir / name}",
                             hint="rename one of them in organisations.csv")
        seen[key] = org_id
        paths[org_id] = out_dir / name
    return paths


def _read_only(ws: Workspace) -> bool:
    rows = ws.con.execute("SELECT current_setting('access_mode')").fetchall()
    return bool(rows) and rows[0][0] == "read_only"


@dataclass(frozen=True)
class PackFailure:
    """One organisation whose pack could not be rendered, and why."""

    org_id: str
    error: str
    user_error: bool  # an AuditKitError (the user's to fix) rather than a bug


class PacksFailed(AuditKitError):
    """Some packs could not be rendered; every other pack was written. Names each failed organisation."""

    def __init__(self, failures: list[PackFailure], written: list[Path], out_dir: Path) -> None:
        shown = "; ".join(f"{f.org_id}: {f.error}" for f in failures[:10])
        more = f"; and {len(failures) - 10} more" if len(failures) > 10 else ""
        super().__init__(
            f"{len(failures)} of {len(failures) + len(written)} DPO packs could not be rendered "
            f"({shown}{more}); the other {len(written)} were written to {out_dir}",
            hint=None if all(f.user_error for f in failures) else "rerun with --debug, or report this as a bug",
        )
        self.failures = failures
        self.written = written
        self.exit_code = ExitCode.USAGE if all(f.user_error for f in failures) else ExitCode.INTERNAL


def _out_dir(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: --all-orgs writes one file per organisation; give a directory")
    if not out_dir.parent.is_dir():
        raise InputError(f"{out_dir.parent}: no such directory to create {out_dir.name} in", hint="create it first")
    try:
        out_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the output directory ({exc.strerror or exc})") from None
    if not os.access(out_dir, os.W_OK):
        raise InputError(f"{out_dir}: cannot write the packs here (permission denied)")
    return out_dir


def render_all_packs(
    ws: Workspace,
    out_dir: Path,
    workers: int = 2,
    progress: Progress = NULL_PROGRESS,
    fmt: str = "pdf",
    audience: str = "restricted",
    assessment: NationalAssessment | None = None,
    today: date | None = None,
    *,
    config: AuditConfig,
    catalogues: CatalogueLibrary = SHIPPED,
    templates: Path | None = None,
) -> list[Path]:
    """Render every organisation's pack into `out_dir`, one file each, using `workers` processes.

    What the packs share (assessment, scores, each body's finding counts and top findings, the
    graphs' window, the record-id index of the guard) is read here once, in a few grouped queries.
    Organisations go out in batches: the graphs of a batch are drawn over a copy of just its events
    (`EventSlice`). With a read-only workspace (as `audit-kit report` opens it) each worker opens
    the workspace itself and draws and lays out whole batches; otherwise packs are built here and
    only the PDF layout runs in the workers. Either way every pack passes the record-id guard, and
    files are named by organisation (never two bodies to one file) and returned in organisation
    order whatever order the workers finish in. A pack that fails does not stop the others: when all
    are done, `PacksFailed` names each organisation that failed and why.
    """
    fmt_ = _format(fmt)
    aud = _audience(audience)
    user_dir = check_template_dir(templates)
    orgs = organisations_with_activity(ws)
    if not orgs:
        raise InputError(f"{ws.path}: the workspace has no organisations", hint="ingest a dataset first")
    paths = pack_paths(Path(out_dir), [o.org_id for o in orgs], fmt_.value)
    out_dir = _out_dir(Path(out_dir))
    parallel = workers > 1 and len(orgs) > 1
    # With a read-only workspace the workers build whole packs: start them now, so they import the
    # renderer while the shared data is read here.
    with EarlyPool(workers) if parallel and _read_only(ws) else nullcontext() as pool:
        outcomes = _render_packs(ws, orgs, paths, pool, aud, fmt_, assessment, today, config, catalogues, user_dir,
                                 workers, progress)
    progress.finish()
    failures = [f for f in (outcomes.get(o.org_id) for o in orgs) if isinstance(f, PackFailure)]
    written = [paths[o.org_id] for o in orgs if not isinstance(outcomes.get(o.org_id), PackFailure)]
    if failures:
        raise PacksFailed(failures, written, out_dir)
    return written


def _render_packs(ws: Workspace, orgs: list[OrgRow], paths: dict[str, Path], pool: EarlyPool | None, aud: Audience,
                  fmt_: ReportFormat, assessment: NationalAssessment | None, today: date | None, config: AuditConfig,
                  catalogues: CatalogueLibrary, user_dir: Path | None, workers: int,
                  progress: Progress) -> dict[str, Outcome]:
    progress.start("Reading pack data", total=None)
    restricted = aud is Audience.RESTRICTED
    window = pack_window(ws, config) if restricted else None
    job = _job(ws, aud, fmt_, assessment, today, config, catalogues, user_dir, record_id_index(ws),
               window, pack_fits(ws, config, window) if restricted else None)
    counts = finding_counts_by_org(ws, exclude_detectors=[report_facts.CONTRADICTION])
    contra = finding_counts_by_org(ws)
    top = top_findings_by_org(ws, MAX_FINDINGS_PACK, exclude_detectors=[report_facts.CONTRADICTION]) \
        if restricted else {}
    tasks = [
        _PackTask(o, counts.get(o.org_id, EMPTY_COUNTS), _contradictions(contra.get(o.org_id, EMPTY_COUNTS)),
                  top.get(o.org_id, []), str(paths[o.org_id]))
        for o in orgs
    ]
    progress.start("Rendering packs", total=len(orgs))
    if pool is not None:
        # Several batches per worker, so the last one to finish leaves the other idle only briefly.
        batches = _batches(tasks, max_orgs=math.ceil(len(tasks) / (workers * BATCHES_PER_WORKER)), workers=workers)
        pool.share(job)
        return _collect(pool.executor, _batch_worker, batches, progress)
    return _build_here(ws, job, tasks, workers > 1 and len(orgs) > 1, workers, progress)


def _contradictions(counts: FindingCounts) -> int:
    return sum(sum(sev.values()) for d, sev, _o, _u in counts.by_detector if d == report_facts.CONTRADICTION)


BATCHES_PER_WORKER = 8
MAX_BATCH_ORGS = 25  # organisations whose events one EventSlice holds at a time
MAX_BATCH_EVENTS = 1_000_000  # and at most this many events (about 150 MB), whatever the org count


@dataclass
class _PackJob:
    """What every pack shares, computed once in the parent and sent to each worker once."""

    ws_path: str
    audience: Audience
    fmt: ReportFormat
    assessment: NationalAssessment | None
    previous: NationalAssessment | None
    scores: dict[str, OrgScoreData]
    today: date
    config: AuditConfig
    runs: tuple[Any, ...] = ()
    actions: tuple[Any, ...] = ()
    templates: Path | None = None
    guard: RecordIdIndex | None = None
    window: Window | None = None  # the graphs' window, resolved over every event
    fits: pd.DataFrame | None = None  # every organisation's community fit over that window (pack_fits)

    def html(self, ws: Workspace, task: _PackTask, events: EventSlice | None = None) -> str:
        org = task.org
        restricted = self.audience is Audience.RESTRICTED
        counts = task.counts if task.counts is not None else finding_counts(
            ws, org.org_id, exclude_detectors=[report_facts.CONTRADICTION])
        contradictions = task.contradictions if task.contradictions is not None else \
            report_facts.contradiction_count(ws, org.org_id)
        top = task.top if task.top is not None else (
            top_findings(ws, MAX_FINDINGS_PACK, org.org_id, exclude_detectors=[report_facts.CONTRADICTION])
            if restricted else [])
        facts = PackFacts(
            issued=self.today, audience=self.audience, org=org, assessment=self.assessment, previous=self.previous,
            score=self.scores.get(org.org_id), counts=counts, contradictions=contradictions, top=tuple(top),
            runs=self.runs, actions=tuple(a for a in self.actions if a.issued.org_id == org.org_id),
            figures=tuple(org_figures(ws, org.org_id, self.audience, self.config, self.window, events, self.fits)),
        )
        return render_html(ORG_PACK_TEMPLATE, build_pack(facts), self.templates)

    def htmls(self, ws: Workspace, batch: list[_PackTask]) -> list[tuple[_PackTask, str | PackFailure]]:
        """Build a batch's packs (guarded), its graphs drawn over one EventSlice of its events."""
        events = None
        if self.window is not None and self.audience is Audience.RESTRICTED and len(batch) > 1:
            events = EventSlice(ws)
        built: list[tuple[_PackTask, str | PackFailure]] = []
        try:
            if events is not None:
                assert self.window is not None
                events.load([t.org.org_id for t in batch], self.window)
            for task in batch:
                try:
                    built.append((task, self.html(ws, task, events)))
                except Exception as exc:  # noqa: BLE001 - reported per organisation, the others go on
                    built.append((task, _failure(task.org.org_id, exc)))
        finally:
            if events is not None:
                events.close()
        ok = [i for i, (_, h) in enumerate(built) if isinstance(h, str)]
        guarded, _ = guard_record_ids(
            ws, [str(built[i][1]) for i in ok], self.audience is Audience.RESTRICTED, self.guard
        )
        for i, html in zip(ok, guarded, strict=True):
            built[i] = (built[i][0], html)
        return built


@dataclass(frozen=True)
class _PackTask:
    """One organisation's own pack data (read for all organisations at once) and where its file goes."""

    org: OrgRow
    counts: FindingCounts | None  # None: read from the workspace when the pack is built
    contradictions: int | None
    top: list[Any] | None
    out: str


Outcome = str | PackFailure  # the file written, or why not


def _batches(tasks: list[_PackTask], max_orgs: int, workers: int = 0) -> list[list[_PackTask]]:
    """Consecutive organisations, at most `max_orgs` (and MAX_BATCH_ORGS) and MAX_BATCH_EVENTS a batch.

    With `workers`, batches shrink towards the end (a batch takes at most what is left over twice the
    workers), so the last to finish leaves the other workers idle only briefly."""
    cap = max(1, min(max_orgs, MAX_BATCH_ORGS))

    def size_from(i: int) -> int:
        return cap if workers <= 0 else max(1, min(cap, math.ceil((len(tasks) - i) / (2 * workers))))

    batches: list[list[_PackTask]] = []
    current: list[_PackTask] = []
    events, size = 0, size_from(0)
    for i, task in enumerate(tasks):
        if current and (len(current) >= size or events + task.org.events > MAX_BATCH_EVENTS):
            batches.append(current)
            current, events, size = [], 0, size_from(i)
        current.append(task)
        events += task.org.events
    if current:
        batches.append(current)
    return batches


def _failure(org_id: str, exc: BaseException) -> PackFailure:
    if isinstance(exc, AuditKitError):
        return PackFailure(org_id, str(exc), True)
    return PackFailure(org_id, f"{type(exc).__name__}: {exc}", False)


def _in_workers(
    workers: int,
    fn: Callable[[list[Any]], list[tuple[str, Outcome]]],
    batches: list[list[Any]],
    progress: Progress,
) -> dict[str, Outcome]:
    """Run `fn` over `batches` in `workers` spawned processes; {org_id: outcome}, whatever fails."""
    # spawn, not fork: the parent holds an open DuckDB connection and its threads.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(batches)), mp_context=ctx) as pool:
        return _collect(pool, fn, batches, progress)


def _collect(pool: ProcessPoolExecutor, fn: Callable[[list[Any]], list[tuple[str, Outcome]]],
             batches: list[list[Any]], progress: Progress) -> dict[str, Outcome]:
    """Submit every batch to `pool`; {org_id: outcome} as they finish, whatever fails."""
    outcomes: dict[str, Outcome] = {}
    futures = {pool.submit(fn, batch): [_org_of(item) for item in batch] for batch in batches}
    for fut in as_completed(futures):
        org_ids = futures[fut]
        try:
            results = fut.result()
        except BrokenProcessPool as exc:  # a worker died (killed, out of memory): name what it lost
            results = [(o, PackFailure(o, f"the worker process died ({exc})", False)) for o in org_ids]
        except Exception as exc:  # noqa: BLE001 - reported per organisation, the others go on
            results = [(o, _failure(o, exc)) for o in org_ids]
        outcomes.update(results)
        progress.advance(len(org_ids))
    return outcomes


def _org_of(item: Any) -> str:
    return item.org.org_id if isinstance(item, _PackTask) else str(item[0])


def _build_here(
    ws: Workspace, job: _PackJob, tasks: list[_PackTask], parallel: bool, workers: int, progress: Progress
) -> dict[str, Outcome]:
    """Build every pack's HTML in this process (the caller's connection); lay out PDFs in workers."""
    outcomes: dict[str, Outcome] = {}
    items: list[tuple[str, str, str]] = []
    for batch in _batches(tasks, MAX_BATCH_ORGS):
        for task, html in job.htmls(ws, batch):
            if isinstance(html, PackFailure):
                outcomes[task.org.org_id] = html
                progress.advance()
            else:
                items.append((task.org.org_id, html, task.out))
    if parallel and job.fmt is ReportFormat.PDF and len(items) > 1:
        size = math.ceil(len(items) / (workers * BATCHES_PER_WORKER))
        outcomes |= _in_workers(workers, _pdf_worker, [items[i : i + size] for i in range(0, len(items), size)],
                                progress)
        return outcomes
    for item in items:
        org_id, outcome = _write_one(item, job.fmt)
        outcomes[org_id] = outcome
        progress.advance()
    return outcomes


def _write_one(item: tuple[str, str, str], fmt: ReportFormat) -> tuple[str, Outcome]:
    org_id, html, out = item
    try:
        return org_id, str(_write(html, Path(out), fmt))
    except Exception as exc:  # noqa: BLE001 - reported per organisation, the others go on
        return org_id, _failure(org_id, exc)


def _open_for(job: _PackJob) -> tuple[_PackJob, Workspace]:
    """A worker's own read-only connection for `job` (once per worker: `pool.shared`)."""
    ws = Workspace.open(job.ws_path, read_only=True)
    # Each worker has one core of its own; more engine threads per worker only contend.
    ws.con.execute("SET threads = 1")
    return job, ws


def _batch_worker(batch: list[_PackTask]) -> list[tuple[str, Outcome]]:
    job, ws = shared(_open_for)
    out: list[tuple[str, Outcome]] = []
    for task, html in job.htmls(ws, batch):
        if isinstance(html, PackFailure):
            out.append((task.org.org_id, html))
        else:
            out.append(_write_one((task.org.org_id, html, task.out), job.fmt))
    return out


def _pdf_worker(items: list[tuple[str, str, str]]) -> list[tuple[str, Outcome]]:
    return [_write_one(item, ReportFormat.PDF) for item in items]
