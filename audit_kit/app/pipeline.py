"""The one-shot main job: ingest → questionnaires → detect → corroborate and score → assess → report.

All steps run under one run context (`app/context.py`): one configuration judges the detection, the
corroboration and the report, and is stored with their results.

`run_pipeline` is what `audit-kit assess DATASET_DIR -o report.pdf` and `make demo` run. Each step
is a library call owned by its own layer; this module only sequences them, times them and collects
what each returns. Questionnaires are imported by ingest (`DATASET_DIR/questionnaires/`); graphs are
drawn by the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from audit_kit.app.completeness import require_complete_detection
from audit_kit.app.context import RunContext
from audit_kit.app.limits import limitation_inputs
from audit_kit.app.readmodels import publish_after_write
from audit_kit.assessment.assess import assess_workspace
from audit_kit.detectors import run_detectors
from audit_kit.errors import InputError
from audit_kit.ingest import ingest_dataset
from audit_kit.models.assessment import NationalAssessment
from audit_kit.progress import NULL_PROGRESS, Progress
from audit_kit.report import render_national


@dataclass
class PipelineResult:
    """What the one-shot job did: per-step summaries and timings, the assessment and the report path."""

    dataset_dir: Path
    workspace: Path
    report: Path | None
    assessment: NationalAssessment
    ingest: dict[str, Any] = field(default_factory=dict)  # the ingest report's JSON summary
    detection: dict[str, Any] = field(default_factory=dict)  # findings, skipped and failed detectors
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step
    notes: list[str] = field(default_factory=list)  # what went wrong without failing the job

    def to_json(self) -> dict[str, Any]:
        a = self.assessment
        return {
            "dataset_dir": str(self.dataset_dir), "workspace": str(self.workspace),
            "report": str(self.report) if self.report else None,
            "assessment_id": a.assessment_id, "as_of": a.as_of.isoformat(),
            "organisations": a.totals.organisations,
            "by_risk_level": {k.value: v for k, v in a.totals.by_risk_level.items()},
            "contradictions": a.totals.contradictions,
            "ingest": self.ingest, "detection": self.detection,
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "notes": self.notes,
        }


class _Steps:
    """Shares one progress display across the steps: a step's finish() must not close it."""

    def __init__(self, inner: Progress) -> None:
        self.inner = inner

    def start(self, label: str, total: float | None = None) -> None:
        self.inner.start(label, total)

    def advance(self, amount: float = 1) -> None:
        self.inner.advance(amount)

    def finish(self) -> None:
        pass


def run_pipeline(
    ctx: RunContext,
    dataset_dir: Path,
    out_pdf: Path | None,
    *,
    as_of: date | None = None,
    checklist_id: str | None = None,
    reviewer: str | None = None,
    report_format: str = "pdf",
    progress: Progress = NULL_PROGRESS,
    allow_partial: bool = False,
) -> PipelineResult:
    """Run the whole review of `dataset_dir` into the context's workspace and render `out_pdf`.

    Re-running on the same dataset and workspace adds nothing twice (ingest skips files already
    stored) and stores a new dated assessment. `out_pdf=None` skips the report. A failed detector stops
    the job after detection (IncompleteDetectionError) unless `allow_partial`; then the report's
    limitations name it and `notes` says so.
    """
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise InputError(f"{dataset_dir}: not a directory",
                         hint="give a review dataset directory (organisations.csv, events/, …)")
    if not (dataset_dir / "organisations.csv").exists():
        raise InputError(f"{dataset_dir}: no organisations.csv here",
                         hint="a review dataset needs organisations.csv and events/ (see docs/risk-model.md)")
    timings: dict[str, float] = {}
    steps = _Steps(progress)
    with ctx.open_workspace(create=True) as ws:
        t = time.perf_counter()
        ingest = ingest_dataset(ws, dataset_dir, progress=steps, catalogues=ctx.catalogues)
        timings["ingest"] = time.perf_counter() - t

        t = time.perf_counter()
        run = run_detectors(ws, ctx.config, progress=steps, store=True)
        timings["detect"] = time.perf_counter() - t
        detection = {
            "findings": len(run.findings),
            "skipped": [list(s) for s in run.skipped],
            "errors": [list(e) for e in run.errors],
        }
        failed = require_complete_detection(ws, allow_partial)

        t = time.perf_counter()
        assessment = assess_workspace(ws, ctx.config, as_of=as_of, checklist_id=checklist_id, progress=steps,
                                      catalogues=ctx.catalogues)
        timings["assess"] = time.perf_counter() - t

        t = time.perf_counter()
        publish_note = publish_after_write(ws, ctx.catalogues)  # what `audit-kit serve` shows (docs/web.md)
        timings["publish"] = time.perf_counter() - t

        report = None
        if out_pdf is not None:
            t = time.perf_counter()
            out_pdf.parent.mkdir(parents=True, exist_ok=True)
            report = render_national(ws, out_pdf, fmt=report_format, reviewer=reviewer, progress=steps,
                                     limits=limitation_inputs(ctx.workspace, ctx.now.date(), restricted=True),
                                     config=ctx.config, catalogues=ctx.catalogues)
            timings["report"] = time.perf_counter() - t
    progress.finish()
    return PipelineResult(
        dataset_dir=dataset_dir, workspace=ctx.workspace, report=Path(report) if report else None,
        assessment=assessment, ingest=ingest.to_json() if hasattr(ingest, "to_json") else {},
        detection=detection, timings=timings,
        notes=([f"detection incomplete (--allow-partial): {', '.join(sorted(failed))} failed; the report's "
                "limitations say so"] if failed else []) + ([publish_note] if publish_note else []),
    )
