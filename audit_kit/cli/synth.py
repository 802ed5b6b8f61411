"""`audit-kit synth`: write a synthetic review world with labelled inappropriate access."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from pathlib import Path

import typer
from pydantic import ValidationError

from audit_kit.cli._common import QuietOption, emit_json, emit_table, progress_for, stdout
from audit_kit.errors import AuditKitError
from audit_kit.synth import SynthParams, generate


class SynthUsageError(AuditKitError):
    """A synth option out of range."""


class SummaryFormat(str, Enum):
    table = "table"
    json = "json"


def synth(
    out: Path = typer.Argument(
        ..., help="Directory to write the world into (new, empty, or an earlier world)."
    ),
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed gives byte-identical files."),
    orgs: int = typer.Option(24, "--orgs", help="Number of accessing organisations (4-5000)."),
    days: int = typer.Option(
        60, "--days", help="Days of access logs (28-730); the last 14 are the scan window."
    ),
    children: int = typer.Option(20_000, "--children", help="Children in the database (500+)."),
    scale: float = typer.Option(1.0, "--scale", help="Multiplies the volume of normal traffic."),
    events: int | None = typer.Option(
        None, "--events", help="About this many events: chooses --scale for you (1000+)."
    ),
    adversarial: bool = typer.Option(
        False, "--adversarial", help="Snoopers hide their reads among peer-like cover reads."
    ),
    end_date: str = typer.Option("2026-10-31", "--end-date", help="Last day of the period (YYYY-MM-DD)."),
    cell: str | None = typer.Option(
        None, "--cell", help="A stress-matrix cell (base, sparse, browsing, no_optional, bursts, popular, small_orgs, "
        "quiet, hostile, health_mix): its size, prevalence and knobs; the options below override it.",
    ),
    missing_involvements: float | None = typer.Option(
        None, "--missing-involvements", help="Share of involvements left out of involvements.csv (0-0.4)."
    ),
    browsing: float | None = typer.Option(
        None, "--browsing", help="Share of ordinary reads of in-area children with no involvement (0-0.1)."
    ),
    drop_columns: str | None = typer.Option(
        None, "--drop-columns", help="Optional columns to leave out: session_id,purpose,auth_method,family_key."
    ),
    bursts: bool | None = typer.Option(
        None, "--bursts/--no-bursts", help="Legitimate bursts: inspections, a census return, duty rotas."
    ),
    popular: int | None = typer.Option(None, "--popular", help="Children read by many involved staff (0-50)."),
    org_mix: str | None = typer.Option(None, "--org-mix", help="default, small_orgs or health."),
    quiet_misuse: bool | None = typer.Option(
        None, "--quiet-misuse/--no-quiet-misuse", help="Misuse in office hours, weaker, with cover reads."
    ),
    misuse_share: float | None = typer.Option(
        None, "--misuse-share", help="Misuse users as a share of users, one per category drawn (default: every "
        "category, orgs/8 each)."
    ),
    fmt: SummaryFormat = typer.Option(SummaryFormat.table, "--format", "-f", help="table or json summary."),
    quiet: bool = QuietOption,
) -> None:
    """Write a synthetic review world: organisations, staff, children, involvements, access events,
    truth.csv (injected inappropriate access, one category per detector id) and truth_orgs.csv
    (each organisation's real security practice).

    Example: audit-kit synth world --seed 7 --orgs 24 --days 60 --children 20000

    Example: audit-kit synth big --orgs 300 --children 500000 --days 90 --events 10000000

    Example (a stress-matrix cell, docs/detection-quality.md): audit-kit synth w --cell sparse --seed 1
    """
    try:
        end = datetime.strptime(end_date, "%Y-%m-%d").date()
    except ValueError:
        raise SynthUsageError(f"--end-date {end_date!r}: expected a date as YYYY-MM-DD") from None
    knobs = {
        "missing_involvements": missing_involvements, "browsing": browsing, "bursts": bursts, "popular": popular,
        "org_mix": org_mix, "quiet": quiet_misuse, "misuse_share": misuse_share,
        "drop_columns": tuple(c.strip() for c in drop_columns.split(",") if c.strip()) if drop_columns else None,
    }
    knobs = {k: v for k, v in knobs.items() if v is not None}
    try:
        if cell is not None:
            from audit_kit.synth.matrix import CELLS, cell_params

            if cell not in CELLS:
                raise SynthUsageError(f"--cell {cell!r}: expected one of {', '.join(CELLS)}")
            base = cell_params(cell, seed).model_dump()
            given = {k: v for k, v in {"orgs": orgs, "days": days, "children": children}.items()
                     if v != SynthParams.model_fields[k].default}
            params = SynthParams(**{**base, **given, "scale": scale, "events": events, "adversarial": adversarial,
                                    "end_date": end, **knobs})
        else:
            params = SynthParams(
                seed=seed,
                orgs=orgs,
                days=days,
                children=children,
                scale=scale,
                events=events,
                adversarial=adversarial,
                end_date=end,
                **knobs,
            )
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]).replace("_", "-") if err["loc"] else "?"
        raise SynthUsageError(f"--{field} {err.get('input')!r}: {err['msg']}") from None
    progress = progress_for(quiet or fmt == SummaryFormat.json)
    try:
        summary = generate(out, params, progress)
    finally:
        progress.finish()
    if fmt == SummaryFormat.json:
        emit_json(summary.model_dump(mode="json"))
        return
    rows = [{"table": k, "rows": v} for k, v in summary.tables.items()]
    rows += [{"table": f"truth: {k}", "rows": v} for k, v in summary.injected.items()]
    emit_table(rows, ["table", "rows"], title=f"synthetic world in {summary.out} ({summary.seconds:.1f} s)")
    if not summary.questionnaires:
        stdout.print("questionnaires/ not written: audit_kit.questionnaires is not installed")


def register(app: typer.Typer) -> None:
    app.command("synth")(synth)
