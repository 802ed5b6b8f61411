"""The report library API: national risk assessment, one DPO pack, every pack at once.

Flow: sources (engine aggregates) → context (typed view models) → Jinja (autoescaped HTML) →
record-id guard → WeasyPrint (packaged assets only) → file. For every pack at once, shared facts
(assessment, scores) are computed once; worker processes then build and lay out whole packs over
their own read-only connection, or, when the caller holds the workspace read-write, only lay out
PDFs that were built here.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from audit_kit.errors import InputError
from audit_kit.progress import NULL_PROGRESS, Progress
from audit_kit.report import context, sources
from audit_kit.report.figures import national_figures, org_figures
from audit_kit.report.mapping import framework_mapping
from audit_kit.report.models import Audience, ReportFormat
from audit_kit.report.render import NATIONAL_TEMPLATE, ORG_PACK_TEMPLATE, html_to_pdf, render_html
from audit_kit.report.safety import guard_record_ids
from audit_kit.report.scores import load_scores
from audit_kit.workspace import Workspace


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
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{out}: cannot write the report here ({parent} is not a directory)")
            break


def _write(html: str, out: Path, fmt: ReportFormat) -> Path:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
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
    assessment: Any | None = None,
    today: date | None = None,
    progress: Progress = NULL_PROGRESS,
) -> str:
    """The national risk assessment as one self-contained HTML document (guarded, ready to print)."""
    aud = _audience(audience)
    progress.start("Gathering report data", total=4)
    if assessment is None:
        assessment = sources.latest_assessment(ws)
    progress.advance()
    scores = load_scores(ws, assessment)
    progress.advance()
    figures = national_figures(ws, aud)
    progress.advance()
    model = context.build_national(
        ws, aud, reviewer, assessment, scores, figures, framework_mapping(assessment), today or date.today()
    )
    html = render_html(NATIONAL_TEMPLATE, model)
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
    assessment: Any | None = None,
    today: date | None = None,
) -> Path:
    """Render the national risk assessment to `out` (PDF or HTML) and return the path.

    Uses `assessment` if given, else the latest one stored in the workspace; sections whose source
    is empty say so in the report. Raises InputError for a bad audience, format or output path.
    """
    fmt_ = _format(fmt)
    _check_output(Path(out))
    html = national_html(ws, audience, reviewer, assessment, today, progress)
    progress.start("Laying out the report", total=None)
    path = _write(html, Path(out), fmt_)
    progress.finish()
    return path


def _org_row(ws: Workspace, org_id: str) -> sources.OrgRow:
    orgs = {o.org_id: o for o in sources.organisations(ws)}
    if org_id not in orgs:
        known = ", ".join(sorted(orgs)[:10]) + (" …" if len(orgs) > 10 else "")
        raise InputError(
            f"organisation {org_id!r} is not in the workspace",
            hint=f"known organisations: {known}"
            if orgs
            else "the workspace has no organisations; ingest first",
        )
    return orgs[org_id]


def org_pack_html(
    ws: Workspace,
    org_id: str,
    audience: str | Audience = Audience.RESTRICTED,
    assessment: Any | None = None,
    today: date | None = None,
) -> str:
    """One organisation's DPO pack as self-contained HTML (guarded)."""
    return _pack_htmls(ws, [_org_row(ws, org_id)], _audience(audience), assessment, today)[0]


def _pack_htmls(
    ws: Workspace,
    orgs: list[sources.OrgRow],
    aud: Audience,
    assessment: Any | None,
    today: date | None,
) -> list[str]:
    if assessment is None:
        assessment = sources.latest_assessment(ws)
    job = _PackJob(
        str(ws.path),
        aud,
        ReportFormat.HTML,
        assessment,
        sources.previous_assessment(ws, assessment),
        load_scores(ws, assessment),
        today or date.today(),
    )
    guarded, _ = guard_record_ids(ws, [job.html(ws, org) for org in orgs], aud is Audience.RESTRICTED)
    return guarded


def render_org_pack(
    ws: Workspace,
    org_id: str,
    out: Path,
    fmt: str = "pdf",
    audience: str = "restricted",
    assessment: Any | None = None,
    today: date | None = None,
) -> Path:
    """Render one organisation's DPO pack to `out`. Raises InputError for an unknown org."""
    fmt_ = _format(fmt)
    _check_output(Path(out))
    html = org_pack_html(ws, org_id, audience, assessment, today)
    return _write(html, Path(out), fmt_)


def pack_filename(org_id: str, fmt: str) -> str:
    """File name of an organisation's pack: its id made safe for any filesystem."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in org_id).strip("._") or "org"
    return f"{safe}-dpo-pack.{fmt}"


def _read_only(ws: Workspace) -> bool:
    rows = ws.con.execute("SELECT current_setting('access_mode')").fetchall()
    return bool(rows) and rows[0][0] == "read_only"


def render_all_packs(
    ws: Workspace,
    out_dir: Path,
    workers: int = 2,
    progress: Progress = NULL_PROGRESS,
    fmt: str = "pdf",
    audience: str = "restricted",
    assessment: Any | None = None,
    today: date | None = None,
) -> list[Path]:
    """Render every organisation's pack into `out_dir`, one file each, using `workers` processes.

    With a read-only workspace (as `audit-kit report` opens it) each worker opens the workspace
    itself and builds, draws and lays out whole packs; otherwise packs are built here and only the
    PDF layout runs in the workers. Either way every pack passes the record-id guard.
    """
    fmt_ = _format(fmt)
    aud = _audience(audience)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: --all-orgs writes one file per organisation; give a directory")
    orgs = sources.organisations(ws)
    if not orgs:
        raise InputError(f"{ws.path}: the workspace has no organisations", hint="ingest a dataset first")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the output directory ({exc.strerror or exc})") from None
    paths = [out_dir / pack_filename(o.org_id, fmt_.value) for o in orgs]
    if assessment is None:
        assessment = sources.latest_assessment(ws)
    shared = _PackJob(
        str(ws.path),
        aud,
        fmt_,
        assessment,
        sources.previous_assessment(ws, assessment),
        load_scores(ws, assessment),
        today or date.today(),
    )
    progress.start("Rendering packs", total=len(orgs))
    if workers > 1 and len(orgs) > 1 and _read_only(ws):
        # spawn, not fork: the parent holds an open DuckDB connection and its threads.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(shared,)
        ) as pool:
            futures = [
                pool.submit(_pack_worker, org, str(path)) for org, path in zip(orgs, paths, strict=True)
            ]
            for fut in as_completed(futures):
                fut.result()
                progress.advance()
        progress.finish()
        return paths
    htmls = [shared.html(ws, org) for org in orgs]
    htmls, _ = guard_record_ids(ws, htmls, aud is Audience.RESTRICTED)
    if fmt_ is ReportFormat.HTML or workers <= 1 or len(orgs) == 1:
        for html, path in zip(htmls, paths, strict=True):
            _write(html, path, fmt_)
            progress.advance()
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [
                pool.submit(_pdf_worker, html, str(path)) for html, path in zip(htmls, paths, strict=True)
            ]
            for fut in as_completed(futures):
                fut.result()
                progress.advance()
    progress.finish()
    return paths


@dataclass
class _PackJob:
    """What every pack shares, computed once in the parent and sent to each worker once."""

    ws_path: str
    audience: Audience
    fmt: ReportFormat
    assessment: Any | None
    previous: Any | None
    scores: dict[str, sources.OrgScoreData]
    today: date

    def html(self, ws: Workspace, org: sources.OrgRow) -> str:
        model = context.build_org_pack(
            ws,
            org,
            self.audience,
            self.assessment,
            self.previous,
            self.scores.get(org.org_id),
            org_figures(ws, org.org_id, self.audience),
            self.today,
        )
        return render_html(ORG_PACK_TEMPLATE, model)


_worker: tuple[_PackJob, Workspace] | None = None


def _init_worker(job: _PackJob) -> None:
    global _worker
    _worker = (job, Workspace.open(job.ws_path, read_only=True))


def _pack_worker(org: sources.OrgRow, out: str) -> str:
    assert _worker is not None, "worker not initialised"
    job, ws = _worker
    (html,), _ = guard_record_ids(ws, [job.html(ws, org)], job.audience is Audience.RESTRICTED)
    _write(html, Path(out), job.fmt)
    return out


def _pdf_worker(html: str, out: str) -> str:
    html_to_pdf(html, Path(out))
    return out
