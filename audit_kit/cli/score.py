"""`audit-kit score`: each organisation's compliance score from its latest questionnaire, ranked."""

from __future__ import annotations

from pathlib import Path

import typer

from audit_kit.app.context import resolve
from audit_kit.cli._common import (
    OutputFormat,
    WorkspaceOption,
    check_output,
    emit_csv,
    emit_json,
    emit_table,
    stdout,
)
from audit_kit.scoring import OrgScore, score_workspace

CSV_COLUMNS = [
    "rank",
    "org_id",
    "checklist_id",
    "version",
    "submitted",
    "overall",
    "raw_score",
    "assured_score",
    "status",
    "must_pass_failed",
    "gaps",
    "previous_overall",
    "delta",
]


def _row(s: OrgScore) -> dict[str, object]:
    return {
        "rank": s.rank,
        "org_id": s.org_id,
        "checklist_id": s.checklist_id,
        "version": s.version,
        "submitted": s.submitted.isoformat() if s.submitted else None,
        "overall": s.overall,
        "raw_score": s.raw_score,
        "assured_score": s.assured_score,
        "status": s.status.value,
        "must_pass_failed": " ".join(s.must_pass_failed),
        "gaps": s.gaps,
        "previous_overall": s.previous_overall,
        "delta": None if s.delta is None else f"{s.delta:+.1f}",
    }


def score(
    workspace: Path = WorkspaceOption,
    checklist: str | None = typer.Option(None, "--checklist", "-c", help="Only this catalogue id."),
    org: str | None = typer.Option(
        None, "--org", help="Only this organisation (shows domains, frameworks, gaps)."
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv."),
    out: Path | None = typer.Option(None, "--output", "-o", help="Write JSON or CSV here instead of stdout."),
) -> None:
    """Score each organisation's latest questionnaire and rank them, weakest first.

    Shows overall 0-100, DSPT-style status, must-pass failures and the change since the previous
    submission. JSON adds per-control, per-domain and per-framework results (CAF outcomes, DSPT
    standards, Cyber Essentials pass/fail, ISO 27001, NIST 800-53, UK GDPR).

    Example: audit-kit score --workspace ./ws --org LA-001
    """
    check_output(out)
    ctx = resolve(workspace, judges=False)
    with ctx.open_workspace(read_only=True) as ws:
        scores = score_workspace(ws, checklist, org, catalogues=ctx.catalogues)
    if fmt is OutputFormat.json:
        emit_json([s.to_json() for s in scores], out)
        return
    if fmt is OutputFormat.csv:
        emit_csv([_row(s) for s in scores], CSV_COLUMNS, out)
        return
    emit_table(
        [_row(s) for s in scores],
        [
            "rank",
            "org_id",
            "checklist_id",
            "overall",
            "assured_score",
            "status",
            "must_pass_failed",
            "gaps",
            "delta",
        ],
        title="Compliance scores (rank 1 = weakest)",
    )
    if org:
        for s in scores:
            _detail(s)


def _detail(s: OrgScore) -> None:
    emit_table(
        [d.model_dump() for d in s.domains],
        ["domain", "score", "controls", "scored", "gaps"],
        title=f"{s.org_id}: domains ({s.checklist_id})",
    )
    for fw in s.frameworks.values():
        stdout.print(f"{fw.name}: " + ", ".join(f"{k} {v}" for k, v in sorted(fw.summary.items())))
    gaps = [c for c in s.controls if c.gap]
    if gaps:
        stdout.print(f"Gaps ({len(gaps)}), most severe first:")
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    for c in sorted(gaps, key=lambda c: (not c.must_pass_failed, order.get(c.severity, 5), c.control_id)):
        flag = " MUST PASS" if c.must_pass_failed else ""
        answer = c.answer if c.answer is not None else "no answer"
        conf = f", {c.confidence.value}" if c.confidence else ""
        stdout.print(
            f"  {c.control_id} {c.title} [{c.severity}{flag}] answered {answer}{conf}: {c.remediation}",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    app.command("score")(score)
