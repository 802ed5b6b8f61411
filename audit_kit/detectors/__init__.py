"""Detectors of inappropriate access that learn baselines, and the one function that runs them.

```python
from audit_kit.detectors import REGISTRY, run_detectors
run = run_detectors(ws)                      # last 14 days of data against the history before
run.findings, run.skipped, run.errors, run.explained_access
```

Each detector is declared once in `registry.py` (id, title, needs, severity policy, params) and
written as Ibis expressions over two shared aggregates of the events (`context.py`), so it runs on
the embedded DuckDB store and, unchanged, on Spark (`run_detectors(ws, engine=open_engine("spark", ws))`,
see `audit_kit.engine`). A detector whose data is missing, or that needs a history the window does
not have, is skipped with the reason; one that fails becomes an error entry and the others still run.

Each finding's severity comes from the strength of its evidence against chance (`evidence.py`);
then each user's findings are combined into one risk and the alert budget is applied (`risk.py`):
`run.user_risks`, `run.budget`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from audit_kit.config import AuditConfig
from audit_kit.detectors.base import DetectorSpec
from audit_kit.detectors.context import WINDOW, DetectionContext
from audit_kit.detectors.explained import rates_for_context
from audit_kit.detectors.registry import REGISTRY
from audit_kit.detectors.risk import BudgetReport, UserRisk, apply_risk_and_budget
from audit_kit.engine.base import Engine
from audit_kit.errors import InputError
from audit_kit.models.findings import Finding
from audit_kit.progress import NULL_PROGRESS, Progress
from audit_kit.store import findings as findings_store
from audit_kit.store.findings import DetectionRunRecord, ExplainedAccess
from audit_kit.store.workspace import Workspace


@dataclass
class DetectionRun:
    """What one detection run found, skipped and failed on, over which window and baseline."""

    run_id: str
    since: datetime
    until: datetime
    baseline_start: datetime
    baseline_end: datetime
    findings: list[Finding] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    explained_access: list[ExplainedAccess] = field(default_factory=list)
    detectors: list[str] = field(default_factory=list)
    user_risks: list[UserRisk] = field(default_factory=list)
    budget: BudgetReport | None = None

    @property
    def window(self) -> tuple[datetime, datetime]:
        return (self.since, self.until)

    @property
    def baseline_window(self) -> tuple[datetime, datetime]:
        return (self.baseline_start, self.baseline_end)

    @property
    def explained_rates(self) -> dict[str, float]:
        """Per-organisation explained-access rate (0–1)."""
        return {e.org_id: e.rate for e in self.explained_access}

    def summary(self) -> dict[str, Any]:
        """Counts for a one-line report: findings per severity, skipped and errored detectors."""
        by_sev: dict[str, int] = {}
        for f in self.findings:
            by_sev[f.severity.value] = by_sev.get(f.severity.value, 0) + 1
        return {"findings": len(self.findings), "by_severity": by_sev, "skipped": dict(self.skipped),
                "errors": dict(self.errors), "budget": self.budget.to_json() if self.budget else None}


def resolve_detectors(detectors: list[str] | None) -> list[str]:
    """Validate detector ids (InputError naming the unknown ones); None means all, in registry order."""
    if not detectors:
        return list(REGISTRY)
    unknown = [d for d in detectors if d not in REGISTRY]
    if unknown:
        raise InputError(
            f"unknown detector id(s): {', '.join(unknown)}", hint="known: " + ", ".join(REGISTRY)
        )
    return [d for d in REGISTRY if d in set(detectors)]


def _missing(ctx: DetectionContext, spec: DetectorSpec) -> list[str]:
    out = []
    for need in spec.needs:
        table, _, column = need.partition(".")
        if not ctx.has_data(table, column or None):
            out.append(need)
    return out


# Detectors that judge against a baseline need at least this much history before the window.
MIN_HISTORY_DAYS = 7.0


def run_detectors(
    ws: Workspace,
    config: AuditConfig,
    since: datetime | None = None,
    until: datetime | None = None,
    detectors: list[str] | None = None,
    progress: Progress = NULL_PROGRESS,
    store: bool = True,
    engine: Engine | None = None,
    alerted_before: Collection[str] = (),
) -> DetectionRun:
    """Run detectors over [since, until) with the history before `since` as baseline.

    Defaults: `until` = end of the data, `since` = until − `config.window_days` (14), baseline =
    `config.baseline_days` (90) before `since`. With `store`, findings are upserted by finding_id
    and per-organisation explained-access rates written to `explained_access`, in one transaction.
    `engine` runs the queries (default: DuckDB over `ws`; see `audit_kit.engine.open_engine` for
    Spark); its caller closes it. Results are stored in `ws` whichever engine computed them.
    With less than MIN_HISTORY_DAYS of history before the window (a first run, or a window covering
    the whole log), detectors that need a baseline are skipped with that reason; the others run.
    Severities then follow per-user risk and the alert budget (`config.alert_budget`); `alerted_before`
    names users a scheduled scan already alerted within the window, who keep their places in it.
    Raises InputError for unknown detector ids or an empty window (since ≥ until).
    """
    ids = resolve_detectors(detectors)
    since = _naive_utc(since)
    until = _naive_utc(until)
    if since is not None and until is not None and since >= until:
        raise InputError(f"--since {since:%Y-%m-%d %H:%M} is not before --until {until:%Y-%m-%d %H:%M}")
    started = datetime.now(UTC).replace(tzinfo=None)
    ctx = DetectionContext.build(ws, config, since, until, engine=engine)
    run_id = hashlib.sha256(f"{started.isoformat()}|{ctx.since}|{ctx.until}|{ids}".encode()).hexdigest()[:16]
    run = DetectionRun(run_id, ctx.since, ctx.until, ctx.baseline_start, ctx.baseline_end, detectors=ids)
    progress.start("detecting", total=len(ids) + 2)
    # The workspace's DuckDB under detection's own limit (what a DuckDB run computes in; a Spark run
    # only stores its results there): capped, DuckDB spills instead of holding 6.8 GB at 10M events.
    with ws.memory_cap("detect"):
        try:
            if not ctx.has_data("events"):
                run.skipped = [(d, "no events in the workspace") for d in ids]
                return run
            # The window's two shared aggregates, made once for every detector (baselines are learnt
            # from the baseline's, or read where they are kept).
            ctx.part("user_hour", WINDOW)
            ctx.part("user_record", WINDOW)
            progress.advance()
            for det_id in ids:
                spec = REGISTRY[det_id]
                try:
                    if not config.detector(det_id).enabled:
                        run.skipped.append((det_id, "disabled in config"))
                        continue
                    missing = _missing(ctx, spec)
                    if missing:
                        run.skipped.append((det_id, "dataset lacks " + ", ".join(missing)))
                        continue
                    if spec.history and ctx.baseline_days < MIN_HISTORY_DAYS:
                        run.skipped.append((det_id, f"no history before the window ({ctx.baseline_days:.1f} "
                                                    f"days; it needs {MIN_HISTORY_DAYS:.0f}): judged once "
                                                    "there is a baseline"))
                        continue
                    params = ctx.params_for(det_id, spec.params)
                    run.findings.extend(spec.fn(ctx, params))
                except Exception as exc:  # collect, don't abort: the other detectors still run
                    run.errors.append((det_id, f"{type(exc).__name__}: {exc}"))
                finally:
                    progress.advance()
            if ctx.has_data("events", "record_id"):
                try:
                    df = rates_for_context(ctx)
                    run.explained_access = [ExplainedAccess(**{k: _py(v) for k, v in r._asdict().items()})
                                            for r in df.itertuples(index=False)]
                except Exception as exc:
                    run.errors.append(("explained_access", f"{type(exc).__name__}: {exc}"))
            run.user_risks, run.budget = apply_risk_and_budget(
                run.findings, _active_users(ctx), config.alert_budget, alerted_before=alerted_before)
            run.findings.sort(key=lambda f: (-f.severity.rank, -f.score, f.finding_id))
            progress.advance()
            if store:
                _store(ws, run, started, config)
            return run
        finally:
            ctx.cleanup()
            progress.finish()


def _store(ws: Workspace, run: DetectionRun, started: datetime, config: AuditConfig) -> None:
    finished = datetime.now(UTC).replace(tzinfo=None)
    ran = [d for d in run.detectors if d not in dict(run.errors) and d not in dict(run.skipped)]
    with ws.transaction():
        findings_store.supersede_findings(ws, ran, run.since, run.until)
        findings_store.store_findings(ws, run.findings, run.run_id, finished)
        if run.explained_access:
            findings_store.store_rates(ws, run.explained_access, run.since, run.until, finished)
        findings_store.record_run(ws, DetectionRunRecord(
            run.run_id, started, finished, run.since, run.until, run.baseline_start, tuple(run.detectors),
            len(run.findings), dict(run.skipped), dict(run.errors), config.source, config.sha256,
        ))


def _active_users(ctx: DetectionContext) -> int:
    """Users with any event in the window (what the alert budget is a share of)."""
    w = ctx.part("user_hour", WINDOW)
    return int(w.user_id.nunique().to_pandas() or 0)


def _naive_utc(v: datetime | None) -> datetime | None:
    if v is None or v.tzinfo is None:
        return v
    return v.astimezone(UTC).replace(tzinfo=None)


def _py(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


__all__ = ["MIN_HISTORY_DAYS", "REGISTRY", "BudgetReport", "DetectorSpec", "DetectionRun", "ExplainedAccess",
           "UserRisk", "run_detectors", "resolve_detectors"]
